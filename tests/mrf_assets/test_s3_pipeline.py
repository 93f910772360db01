"""The whole demo pipeline against s3:// on a real S3-compatible server (moto, loopback), read back
with Hive partitioning and compared with the same pipeline on local disk."""

from __future__ import annotations

import boto3
import dagster as dg
import duckdb
import polars as pl
import pytest

from mrf_assets.io_managers import LakeParquetIOManager
from mrf_assets.partitions import month_payer_key, month_payer_partitions
from mrf_assets.resources import LakeResource
from mrf_assets.tic.s3 import S3Settings
from payer_handlers.registry import DEFAULT_REGISTRY
from tests.support.dagster_runs import materialize, run_log

PAYERS = ("cms-v1", "cms-v2", "real-2022")
TABLES = ("payer_toc", "mrf_file_list", "rates", "provider_sets", "organizations", "providers", "rejects", "file_stats")


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def hive_counts_polars(root: str, storage_options: dict | None = None) -> dict:
    counts = {}
    for table in TABLES:
        frame = pl.scan_parquet(f"{root}/{table}/**/*.parquet", hive_partitioning=True, storage_options=storage_options)
        for payer, n in frame.group_by("payer").len().collect().iter_rows():
            counts[(table, payer)] = n
    return counts


def test_demo_pipeline_on_s3_matches_local(tmp_path, instance, s3_bucket):
    s3_url, local_url = f"s3://{s3_bucket}/lake", str(tmp_path / "lake")
    for payer in PAYERS:
        assert materialize(instance, DEFAULT_REGISTRY, s3_url, payer).success
        assert materialize(instance, DEFAULT_REGISTRY, local_url, payer).success
    on_s3 = hive_counts_polars(s3_url, S3Settings.from_env().polars_options())
    local = hive_counts_polars(local_url)
    assert on_s3 == local
    assert on_s3[("rates", "real-2022")] == 51712 and on_s3[("rates", "cms-v2")] == 24
    # each run held its partitions' locks (s3_lease.py) and removed them when it was done
    listed = boto3.client("s3").list_objects_v2(Bucket=s3_bucket, Prefix="lake/_locks/")
    assert listed["KeyCount"] == 0
    # DuckDB reads the same layout (local copy; DuckDB's S3 support is an extension it downloads)
    got = duckdb.sql(f"select payer, count(*) from read_parquet('{local_url}/rates/**/*.parquet', "
                     "hive_partitioning=true) group by payer").fetchall()
    assert dict(got) == {p: local[("rates", p)] for p in PAYERS if ("rates", p) in local}


def test_io_manager_loads_lazy_frames_on_s3(s3_bucket, instance):
    partitions = month_payer_partitions(["acme"])

    @dg.asset(partitions_def=partitions, io_manager_key="io")
    def table_a() -> pl.DataFrame:
        return pl.DataFrame({"x": [1, 2, 3]})

    @dg.asset(partitions_def=partitions, io_manager_key="io")
    def table_b(table_a: pl.LazyFrame) -> pl.DataFrame:
        assert isinstance(table_a, pl.LazyFrame)
        return table_a.select(pl.col("x") * 2).collect()

    io = LakeParquetIOManager(lake=LakeResource(url=f"s3://{s3_bucket}/lake"))
    result = dg.materialize([table_a, table_b], resources={"io": io}, instance=instance,
                            partition_key=month_payer_key("2026-11", "acme"))
    assert result.success
    lake = io.lake.lake()
    assert lake.read("table_b", "2026-11", "acme").column("x").to_pylist() == [2, 4, 6]
    assert lake.manifest("table_a", "2026-11", "acme")["parts"][0]["path"].startswith("part-")


def test_missing_bucket_fails_the_run_naming_the_setting(s3_env, instance):
    result = materialize(instance, DEFAULT_REGISTRY, "s3://bucket-that-is-not-there/lake", "cms-v1")
    assert not result.success
    assert "bucket 'bucket-that-is-not-there' does not exist" in run_log(instance, result) + str(
        result.get_run_failure_event()) + "".join(str(e) for e in result.all_events if e.is_step_failure)
