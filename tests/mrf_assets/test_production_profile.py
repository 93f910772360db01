"""The production profile as shipped: Postgres instance storage, S3 lake, S3 compute logs."""

from __future__ import annotations

import shutil

import boto3
import dagster as dg

from mrf_assets.tic.lake import Lake
from payer_handlers.registry import DEFAULT_REGISTRY
from tests.conftest import REPO
from tests.support.dagster_runs import materialize
from tests.support.postgres import postgres_server


def test_pipeline_runs_on_the_production_profile(tmp_path, monkeypatch, s3_bucket, s3_env):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "production" / "dagster.yaml", home / "dagster.yaml")
    with postgres_server() as pg_url:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("DAGSTER_PG_URL", pg_url)
        monkeypatch.setenv("MRF_COMPUTE_LOG_BUCKET", s3_bucket)
        lake_url = f"s3://{s3_bucket}/lake"
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
            result = materialize(instance, DEFAULT_REGISTRY, lake_url, "cms-v2")
            assert result.success
            assert instance.get_run_by_id(result.run_id).is_success
        # a second instance (another process in production) sees the run: it lives in Postgres
        with dg.DagsterInstance.get() as other:
            assert [r.run_id for r in other.get_runs()] == [result.run_id]
    assert Lake(lake_url).manifest("rates", "2026-11", "cms-v2")["rows"] == 24
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_env).list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(k.startswith("lake/rates/month=2026-11/payer=cms-v2/") for k in keys)
