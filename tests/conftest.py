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
