"""The lake's publish protocol on local disk and on a real S3-compatible server (moto, loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import polars as pl
import pyarrow as pa
import pytest

from mrf_assets.tic.lake import MANIFEST, Lake, previous_month
from mrf_assets.tic.s3 import LakeConfigError, S3Settings

KILLED_WRITER = """
import sys, time
import pyarrow as pa
from mrf_assets.tic.lake import Lake
writer = Lake(sys.argv[1]).writer("rates", "2026-11", "p", "run-two-000")
for n in range(1000):
    writer.write_table(pa.table({"x": list(range(10))}), key=f"f{n}")
    time.sleep(0.05)
writer.commit()
"""


@pytest.fixture(params=["local", "s3"])
def lake_url(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "lake")
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/lake"


def publish(url: str, run_id: str, rows: int) -> dict:
    writer = Lake(url).writer("rates", "2026-11", "p", run_id)
    writer.write_table(pa.table({"x": list(range(rows))}), key="a")
    writer.write_table(pa.table({"x": list(range(rows))}), key="b")
    return writer.commit(sources=["u"])


def listing(lake: Lake) -> list[str]:
    from pyarrow.fs import FileSelector

    return sorted(i.base_name for i in lake.fs.get_file_info(FileSelector(lake.partition_dir("rates", "2026-11", "p"))))


def test_republish_replaces_without_duplicates(lake_url):
    first = publish(lake_url, "run-one-000", 5)
    second = publish(lake_url, "run-two-000", 3)
    lake = Lake(lake_url)
    assert lake.read("rates", "2026-11", "p").num_rows == 6
    assert lake.manifest("rates", "2026-11", "p")["run_id"] == "run-two-000"
    names = listing(lake)
    assert names == sorted([MANIFEST] + [p["path"] for p in second["parts"]])
    assert not {p["path"] for p in first["parts"]} & set(names)
    assert all(len(p["sha256"]) == 64 and p["rows"] == 3 for p in second["parts"])


def test_killed_writer_leaves_previous_partition_readable(lake_url):
    publish(lake_url, "run-one-000", 5)
    lake = Lake(lake_url)
    before = listing(lake)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, lake_url], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while len([n for n in listing(lake) if n.startswith("part-run-two")]) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "writer ended before it was killed"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    assert len(listing(lake)) > len(before)  # the killed run left orphan parts behind...
    table = lake.read("rates", "2026-11", "p")  # ...but readers see only the published partition
    assert table.num_rows == 10 and lake.manifest("rates", "2026-11", "p")["run_id"] == "run-one-000"
    publish(lake_url, "run-three0", 2)  # the next good run cleans the orphans up
    assert not [n for n in listing(lake) if n.startswith("part-run-two")]
    assert lake.read("rates", "2026-11", "p").num_rows == 4


def test_scan_reads_through_the_manifest(lake_url):
    publish(lake_url, "run-one-000", 5)
    assert Lake(lake_url).scan("rates", "2026-11", "p").select(pl.len()).collect().item() == 10


def test_a_part_reads_back_with_its_ids_types_and_only_the_columns_asked(lake_url):
    """read_part (what the commit's merges read) gives the stored Arrow schema back: ids stay UUIDs."""
    from mrf_assets.tic.ids import stable_uuid
    from mrf_assets.tic.tables import ORGANIZATIONS

    ids = pa.ExtensionArray.from_storage(pa.uuid(), pa.array([stable_uuid("org", i) for i in range(3)], pa.binary(16)))
    table = pa.table({"organization_uuid": ids, "tin_type": ["ein"] * 3, "tin_value": ["1", "2", "3"],
                      "business_name": ["a", None, ""]}, schema=ORGANIZATIONS)
    lake = Lake(lake_url)
    writer = lake.writer("organizations", "2026-11", "p", "run-one-000", ORGANIZATIONS)
    writer.write_table(table, key="a")
    writer.commit(sources=["u"])
    [path] = lake.part_paths("organizations", "2026-11", "p")
    assert lake.read_part(path).equals(table)
    assert lake.read_part(path, columns=["organization_uuid"]).schema == pa.schema([ORGANIZATIONS.field(0)])


def test_missing_bucket_is_named(s3_env):
    with pytest.raises(LakeConfigError, match=r"bucket 'no-such-bucket' does not exist.*MRF_LAKE_URL"):
        Lake("s3://no-such-bucket/lake").check()


def test_unreachable_endpoint_is_named(s3_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(LakeConfigError, match="cannot reach the S3 endpoint http://127.0.0.1:9.*AWS_ENDPOINT_URL"):
        Lake("s3://any-bucket/lake").check()


def test_wrong_credentials_are_named(tmp_path):
    """A second moto server that enforces authentication, in its own process."""
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in proc.stdout:
            if "Running on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].split()[0].strip("/"))
                break
        assert port, "moto server did not start"
        settings = S3Settings(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1",
                              access_key="AKIAWRONGWRONGWRONG0", secret_key="wrong")
        with pytest.raises(LakeConfigError, match="refused the credentials.*AWS_ACCESS_KEY_ID"):
            Lake("s3://some-bucket/lake", settings).check()
    finally:
        proc.kill()
        proc.wait()


def test_lake_url_forms(tmp_path):
    assert Lake(str(tmp_path)).local and Lake(tmp_path.as_uri()).base == str(tmp_path)
    with pytest.raises(LakeConfigError, match="has no bucket"):
        Lake("s3:///prefix")
    with pytest.raises(LakeConfigError, match="expected a folder"):
        Lake("gs://bucket/x")


def test_previous_month_crosses_the_year():
    assert [previous_month(m) for m in ("2026-11", "2026-10", "2026-01", "2023-03")] == \
        ["2026-10", "2026-09", "2025-12", "2023-02"]
