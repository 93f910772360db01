"""The `mrf` command: one file outside Dagster, and the demo materialization with its summary."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import polars as pl

from mrf_assets.cli import ingest_command
from mrf_assets.tic.lake import Lake
from payer_handlers import load_registry
from tests.conftest import DEMO, FIXTURES, REPO

UHC = DEMO / "real-2022" / "uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz"


def mrf(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrf_assets.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


def test_ingest_file_writes_the_tables(tmp_path):
    done = mrf("ingest-file", str(UHC), "--out", str(tmp_path / "out"), "--month", "2022-09")
    assert done.returncode == 0, done.stderr
    assert "status: ok" in done.stdout and "rows: 69069" in done.stdout
    assert f"INFO file ok: {UHC}: " in done.stderr  # logged as the file is done, before the summary
    lake = Lake(str(tmp_path / "out"))
    assert lake.manifest("rates", "2022-09", "adhoc")["rows"] == 51712  # prices; 69069 with their provider groups
    rates, sets = (pl.scan_parquet(f"{tmp_path}/out/{t}/**/*.parquet", hive_partitioning=True)
                   for t in ("rates", "provider_sets"))
    assert rates.join(sets, on="provider_set_uuid").select(pl.len()).collect().item() == 69069


def test_ingest_file_takes_several_files_into_one_partition_in_worker_processes(tmp_path):
    cms = sorted((DEMO / "cms-v2").glob("in-network-*.json"))
    done = mrf("ingest-file", str(UHC), *map(str, cms), "--out", str(tmp_path / "out"), "--month", "2022-09",
               "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"files: {1 + len(cms)} (0 failed)" in done.stdout and "mb_per_s: " in done.stdout
    stats = pl.from_arrow(Lake(str(tmp_path / "out")).read("file_stats", "2022-09", "adhoc"))
    assert stats["status"].to_list() == ["ok"] * (1 + len(cms)) and stats["rows"].sum() > 69069


def test_ingest_command_called_again_in_one_process_logs_each_line_once(tmp_path, capsys):
    sample = DEMO / "cms-v2" / "in-network-rates-all-negotiated-types-sample.json"
    for run in range(2):
        assert ingest_command([str(sample)], str(tmp_path / f"out{run}"), "adhoc", "2026-11") == 0
        assert capsys.readouterr().err.count(f"INFO file ok: {sample}: ") == 1


def test_ingest_file_says_an_item_was_rejected_though_it_had_no_rows(tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text('{"reporting_entity_name": "x", "in_network": [{"negotiated_rates": []}]}')
    assert ingest_command([str(path)], str(tmp_path / "out"), "adhoc", "2026-11") == 0
    said = capsys.readouterr()
    assert "items_rejected: 1" in said.out and "rows_rejected: 0" in said.out
    assert f"file ok: {path}: 1 items, 0 rows, 0 rejected, " in said.err and "; 1 items rejected (see rejects)" in said.err
    rejects = Lake(str(tmp_path / "out")).read("rejects", "2026-11", "adhoc").to_pylist()
    assert [(r["level"], r["reason"]) for r in rejects] == [
        ("item", "in-network item has no billing_code or billing_code_type")]


def test_ingest_file_fails_clearly_on_a_truncated_file(tmp_path):
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(UHC.read_bytes()[:300_000])
    done = mrf("ingest-file", str(cut), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "status: failed" in done.stdout and "truncated gzip stream" in done.stdout


def test_suggest_payer_prints_an_entry_the_registry_loads(tmp_path):
    toc = tmp_path / "2025-08-01_anthem_index.json.gz"
    toc.write_bytes((FIXTURES / "anthem-toc-first-6-structures.json.gz").read_bytes())
    done = mrf("suggest-payer", str(toc), "--slug", "anthem")
    assert done.returncode == 0, done.stderr
    assert "# shim plan_id_type_case: plan_id_type in upper case: EIN\n" in done.stdout
    assert "1,895 in-network file references to 1,212 files" in done.stdout
    registry = tmp_path / "payers.yaml"
    registry.write_text("payers:\n" + textwrap.indent(done.stdout, "  "))
    anthem = load_registry(registry)["anthem"]
    assert anthem.shims == {"missing_dates": True, "missing_version": "1.0.0", "plan_id_type_case": True}
    assert anthem.toc_url(dt.date(2025, 9, 1)) == (tmp_path / "2025-09-01_anthem_index.json.gz").as_uri()
    missing = mrf("suggest-payer", str(tmp_path / "nothing.json"))
    assert missing.returncode == 1 and missing.stderr == f"mrf suggest-payer: no such file: {tmp_path / 'nothing.json'}\n"


def test_materialize_prints_a_summary(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"DAGSTER_HOME": str(home), "MRF_LAKE_URL": str(tmp_path / "lake"), "MRF_OFFLINE": "1"}
    done = mrf("materialize", "--month", "2026-11", "--payer", "cms-v1", "--payer", "cms-v2", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("cms-")}
    assert set(lines) == {"cms-v1", "cms-v2"}
    assert "completeness=pass accuracy=pass reconciliation=pass referential_integrity=pass" in lines["cms-v1"]
    assert lines["cms-v1"].split()[1:8] == ["2", "6", "16", "8", "3", "22", "0"]
    assert (home / "storage").exists()  # the runs are recorded in the SQLite instance the UI reads
