from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "payer_handlers" / "demo"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Tests never reach the internet: the HTTP client refuses any host that is not loopback.
os.environ["MRF_OFFLINE"] = "1"


@pytest.fixture
def payer_web():
    from tests.support.payer_web import PayerWeb

    with PayerWeb() as web:
        yield web


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto's server mode) on loopback for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return s3_server


@pytest.fixture
def s3_bucket(s3_env, request):
    """A fresh bucket; returns its name."""
    import boto3

    name = "mrf-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40]
    boto3.client("s3", endpoint_url=s3_env).create_bucket(Bucket=name)
    return name
