"""Under the real `dagster dev` (webserver + daemon): the UI's GraphQL API serves our assets and checks,
and a partition with bad data materialized from the CLI raises an alert through the running daemon."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO
from tests.support.payer_web import PayerWeb
from tests.support.registries import sloppy_in_network, toc_listing, write_registry
from tests.support.webhook import WebhookReceiver

MONTH = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
ALERT_INTERVAL = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev")
    with PayerWeb() as web, WebhookReceiver() as hook:
        web.add("/bad.json", sloppy_in_network())
        web.add("/toc.json", toc_listing("bad.json"))
        home = tmp / "home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "MRF_OFFLINE": "1", "MRF_LAKE_URL": str(tmp / "lake"),
               "MRF_PAYERS_FILE": str(write_registry(tmp, "sloppy", web.url("/toc.json"))),
               "MRF_ALERT_WEBHOOK_URL": hook.url, "MRF_ALERT_INTERVAL_SECONDS": str(ALERT_INTERVAL)}
        port = free_port()
        log = open(tmp / "dagster-dev.log", "w")
        proc = subprocess.Popen([str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml",
                                 "-h", "127.0.0.1", "-p", str(port)], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while not _loaded(url):
                assert proc.poll() is None, (tmp / "dagster-dev.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "dagster dev did not come up"
                time.sleep(1)
            yield {"url": url, "env": env, "hook": hook, "log": tmp / "dagster-dev.log"}
        finally:
            # dagster dev ignores SIGTERM here; its process group is killed outright
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            log.close()


def _graphql(url: str, query: str) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def _loaded(url: str) -> bool:
    try:
        data = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
    except (requests.RequestException, KeyError, TypeError):
        return False
    entries = data["workspaceOrError"]["locationEntries"]
    return any(e["name"] == "mrf" and e["loadStatus"] == "LOADED" for e in entries)


def test_ui_serves_assets_and_checks(stack):
    data = _graphql(stack["url"], """{ assetNodes { assetKey { path }
        assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }""")
    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert set(nodes) == {"payer_toc", "mrf_file_list", "normalized_rates", "provider_sets", "organizations", "providers"}
    checks = {c["name"]: c["blocking"] for c in nodes["normalized_rates"]["assetChecksOrError"]["checks"]}
    assert checks == {"completeness": True, "accuracy": True, "reconciliation": True, "referential_integrity": True,
                      "rate_uuid_unique": True, "volume_change": False}
    assert [c["name"] for c in nodes["payer_toc"]["assetChecksOrError"]["checks"]] == ["toc_freshness"]


def test_bad_partition_alert_arrives_through_the_daemon(stack):
    done = subprocess.run([str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m",
                           "mrf_assets.definitions", "--select", "payer_toc,mrf_file_list,normalized_rates,provider_sets,organizations,providers",
                           "--partition", f"{MONTH:%Y-%m-%d}|sloppy"], cwd=REPO, env=stack["env"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0  # the blocking checks failed the run
    run_id = re.search(r"__ASSET_JOB - ([0-9a-f-]{36}) - ", done.stderr + done.stdout).group(1)
    finished = time.monotonic()
    ours = lambda: [t for t in stack["hook"].texts() if run_id in t]  # noqa: E731
    while len(ours()) < 2 and time.monotonic() - finished < 120:
        time.sleep(0.5)
    waited = time.monotonic() - finished
    texts = ours()
    assert len(texts) == 2, (waited, stack["log"].read_text()[-3000:])
    assert any("check completeness failed" in t for t in texts) and any("check accuracy failed" in t for t in texts)
    assert all(f"sloppy {MONTH:%Y-%m}" in t for t in texts)
    print(f"alerts arrived {waited:.1f} s after the run ended (sensor interval {ALERT_INTERVAL} s)")
    time.sleep(ALERT_INTERVAL * 2 + 2)
    # later ticks send nothing again: every run has exactly one alert per failed check (the daemon's
    # late_toc_sensor may have requested the same partition on its own: that run alerts separately)
    keys = re.findall(r"/runs/([0-9a-f-]{36})", "\n".join(stack["hook"].texts()))
    assert all(count == 2 for count in Counter(keys).values()) and len(ours()) == 2
