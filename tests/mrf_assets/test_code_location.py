"""The code location loads from workspace.yaml the way `dagster dev` loads it (a code server process)."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest
import yaml
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from mrf_assets.definitions import INGEST_JOB, build_defs
from tests.conftest import REPO

ASSETS = {"payer_toc", "mrf_file_list", "normalized_rates", "provider_sets", "organizations", "providers"}
CHECKS = {"completeness", "accuracy", "reconciliation", "referential_integrity", "rate_uuid_unique", "volume_change"}


def test_workspace_loads_as_the_ui_does():
    with dg.instance_for_test() as instance:
        target = WorkspaceFileTarget(paths=[str(REPO / "workspace.yaml")])
        with WorkspaceProcessContext(instance, target) as workspace:
            request = workspace.create_request_context()
            location = request.get_code_location("mrf")
            repo = location.get_repository("__repository__")
            assert {n.asset_key.to_user_string() for n in repo.get_asset_node_snaps()} == ASSETS
            checks = {(c.key.asset_key.to_user_string(), c.key.name) for c in repo.get_asset_check_node_snaps()}
            assert checks == {("normalized_rates", name) for name in CHECKS} | {("payer_toc", "toc_freshness")}
            node = repo.get_asset_node_snap(dg.AssetKey("payer_toc"))
            assert node.partitions is not None


def test_cli_validates_the_workspace(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful for code location mrf" in done.stderr + done.stdout


def test_partitions_come_from_the_registry():
    defs = build_defs()
    partitions = defs.resolve_job_def(INGEST_JOB).partitions_def
    payers = {key.keys_by_dimension["payer"] for key in partitions.get_partition_keys()}
    assert {"cms-v1", "cms-v2", "real-2022", "anthem", "florida-blue"} <= payers
    months = sorted({key.keys_by_dimension["month"] for key in partitions.get_partition_keys()})
    assert months[0] == "2022-07-01"
    assert months[-1] == __import__("datetime").date.today().strftime("%Y-%m-01")  # current month is live


def test_environment_selects_registry_and_lake(tmp_path, monkeypatch):
    registry = tmp_path / "payers.yaml"
    registry.write_text("payers:\n  - slug: only-one\n    discovery: {strategy: dated, url: /x/toc.json}\n")
    monkeypatch.setenv("MRF_PAYERS_FILE", str(registry))
    monkeypatch.setenv("MRF_LAKE_URL", str(tmp_path / "lake"))
    defs = build_defs()
    assert defs.resources["lake"].url == str(tmp_path / "lake")
    keys = defs.resolve_job_def(INGEST_JOB).partitions_def.get_partition_keys()
    assert {k.keys_by_dimension["payer"] for k in keys} == {"only-one"}


@pytest.mark.parametrize("profile", ["dagster.yaml", "deploy/production/dagster.yaml"])
def test_the_per_payer_run_limit_keys_on_a_tag_every_partition_run_carries(profile):
    """A run launched from the UI for a partition carries the partition's tags only (not the `payer` tag
    our schedules add): the one-run-per-payer limit must key on one of those."""
    limits = yaml.safe_load((REPO / profile).read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    job = build_defs().resolve_job_def(INGEST_JOB)
    key = dg.MultiPartitionKey({"month": "2026-11-01", "payer": "cms-v1"})
    tags = job.get_tags_for_partition_key(key, None)  # what a UI launch or a backfill puts on the run
    [limit] = [limit for limit in limits if limit.get("value", {}).get("applyLimitPerUniqueValue")]
    assert tags[limit["key"]] == "cms-v1" and limit["limit"] == 1
