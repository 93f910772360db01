"""The whole pipeline materialized through Dagster, checked against independent expectations."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mrf_assets.tic import ingest as ingest_module
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.parallel import WORKERS_ENV
from mrf_assets.tic.views import scan_denormalized_rates
from payer_handlers import load_registry
from payer_handlers.registry import DEFAULT_REGISTRY
from tests.conftest import DEMO
from tests.support import reference
from tests.support.dagster_runs import check_results, materialize, run_log
from tests.support.lake_rows import rate_tuples, table
from tests.support.partition_locks import hold_in_thread
from tests.support.registries import sloppy_in_network, toc_listing, write_registry

CMS_V1_REMOTE = {"https://www.cms.gov/some_provider_group.json": json.loads((DEMO / "cms-v1" / "provider-reference.json").read_text())}


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def toc_in_network_files(payer_dir: Path) -> list[Path]:
    toc = json.loads((payer_dir / "table-of-contents.json").read_text())
    names = {f["location"] for s in toc["reporting_structure"] for f in s.get("in_network_files") or []}
    return sorted(payer_dir / n for n in names)


@pytest.mark.parametrize("payer, folder", [("cms-v1", "cms-v1"), ("cms-v2", "cms-v2"), ("real-2022", "real-2022")])
def test_demo_payer_through_dagster(tmp_path, instance, payer, folder):
    lake_url = str(tmp_path / "lake")
    result = materialize(instance, DEFAULT_REGISTRY, lake_url, payer)
    assert result.success
    checks = check_results(result)
    assert set(checks) == {"completeness", "accuracy", "reconciliation", "referential_integrity",
                           "rate_uuid_unique", "volume_change"}
    assert all(c.passed for c in checks.values()), {k: c.metadata for k, c in checks.items()}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"payer_toc", "mrf_file_list", "normalized_rates", "provider_sets", "organizations",
                            "providers"}

    expected, rejected = Counter(), 0
    for path in toc_in_network_files(DEMO / folder):
        rows, rej = reference.flatten(reference.load(path), CMS_V1_REMOTE)
        expected.update(rows)
        rejected += rej
    lake = Lake(lake_url)
    assert Counter(rate_tuples(lake, "2026-11", payer)) == expected
    assert int(table(lake, "rejects", "2026-11", payer)["rows"].sum() or 0) == rejected
    stats = table(lake, "file_stats", "2026-11", payer)
    assert stats["status"].to_list() == ["ok"] * len(toc_in_network_files(DEMO / folder))

    # referential integrity: every rate's set, group and organization exists; each stored once
    rates = table(lake, "rates", "2026-11", payer)
    sets = table(lake, "provider_sets", "2026-11", payer)
    providers = table(lake, "providers", "2026-11", payer)
    orgs = table(lake, "organizations", "2026-11", payer)
    assert set(rates["provider_set_uuid"]) == set(sets["provider_set_uuid"])
    assert set(sets["provider_group_uuid"]) <= set(providers["provider_group_uuid"])
    assert set(sets["organization_uuid"]) | set(providers["organization_uuid"]) <= set(orgs["organization_uuid"])
    assert sets.is_duplicated().sum() == 0
    assert providers.select("provider_group_uuid", "npi").is_duplicated().sum() == 0
    assert orgs["organization_uuid"].is_duplicated().sum() == 0
    assert rates["rate_uuid"].n_unique() == rates.height


def test_worker_processes_log_into_the_run(tmp_path, instance, monkeypatch):
    """With several worker processes, what they log reaches the run's log: each file's line (once) and how
    far it has got (every block here)."""
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr(ingest_module, "PROGRESS_SECONDS", 0.0)
    result = materialize(instance, DEFAULT_REGISTRY, str(tmp_path / "lake"), "cms-v2")
    assert result.success
    log = run_log(instance, result)
    files = toc_in_network_files(DEMO / "cms-v2")
    assert f"{len(files)} in-network files, 2 worker process(es)" in log
    for path in files:
        assert log.count(f"file ok: {path.as_uri()}: ") == 1, path.name
        assert f"file {path.as_uri()}: 0.00 GB of JSON read, " in log, path.name


def test_a_run_waits_while_another_writes_its_partition(tmp_path, instance):
    """A run launched beside another of the same partition (from the command line while a sensor's run
    is going) waits for it instead of removing its parts; the log names the other run."""
    lake_url = str(tmp_path / "lake")
    held, release = threading.Event(), threading.Event()
    other = hold_in_thread(Lake(lake_url), "cms-v2", "run other-1234", held, logging.getLogger(__name__), release)
    assert held.wait(5)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    result = materialize(instance, DEFAULT_REGISTRY, lake_url, "cms-v2")
    other.join(5)
    assert result.success and time.monotonic() - started >= 1.0
    assert "partition 2026-11|cms-v2 is being written by run other-1234 (pid " in run_log(instance, result)
    assert Lake(lake_url).read("rates", "2026-11", "cms-v2").num_rows == 24


def test_real_payer_exact_counts(tmp_path, instance):
    lake_url = str(tmp_path / "lake")
    assert materialize(instance, DEFAULT_REGISTRY, lake_url, "real-2022").success
    lake = Lake(lake_url)
    counts = {t: lake.manifest(t, "2026-11", "real-2022")["rows"]
              for t in ("payer_toc", "mrf_file_list", "rates", "provider_sets", "organizations", "providers", "rejects",
                        "file_stats")}
    # UHC NY: 51,712 prices over 3 distinct provider sets (4 members) give 69,069 price x group rows
    assert counts == {"payer_toc": 2, "mrf_file_list": 2, "rates": 51712, "provider_sets": 4, "organizations": 3,
                      "providers": 30, "rejects": 122310, "file_stats": 2}
    assert scan_denormalized_rates(lake, "2026-11", "real-2022").select(pl.len()).collect().item() == 69069
    # a second materialization replaces the partition: same rows, nothing doubled
    assert materialize(instance, DEFAULT_REGISTRY, lake_url, "real-2022").success
    assert lake.manifest("rates", "2026-11", "real-2022")["rows"] == 51712
    on_disk = pl.scan_parquet(f"{lake_url}/rates/month=2026-11/payer=real-2022/*.parquet").select(pl.len()).collect()
    assert on_disk.item() == 51712


def test_bad_files_fail_alone_and_reconciliation_reports_them(tmp_path, instance, payer_web):
    good = (DEMO / "real-2022" / "uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz").read_bytes()
    text = gzip.decompress(good)
    payer_web.add("/mrf/good.json.gz", good)
    payer_web.add("/mrf/truncated.json.gz", good[: len(good) // 2])
    payer_web.add("/mrf/html.json.gz", b"<!DOCTYPE html><html><body>Maintenance</body></html>", Content_Type="text/html")
    cut = text.index(b'"negotiated_prices":[', len(text) // 2) + len(b'"negotiated_prices":[')
    broken = text[:cut] + b"," + text[cut:]  # a stray comma half-way through in_network
    payer_web.add("/mrf/invalid.json", broken)
    payer_web.add("/toc.json", toc_listing("mrf/good.json.gz", "mrf/truncated.json.gz", "mrf/html.json.gz",
                                           "mrf/invalid.json"))
    lake_url = str(tmp_path / "lake")
    result = materialize(instance, write_registry(tmp_path, "broken", payer_web.url("/toc.json")), lake_url, "broken")

    assert not result.success  # the blocking reconciliation check fails the run
    checks = check_results(result)
    assert not checks["reconciliation"].passed
    assert checks["reconciliation"].metadata["files_failed"].value == 3
    lake = Lake(lake_url)
    stats = {Path(r["url"]).name: r for r in table(lake, "file_stats", "2026-11", "broken").iter_rows(named=True)}
    assert stats["good.json.gz"]["status"] == "ok" and stats["good.json.gz"]["rows"] == 69069
    assert stats["truncated.json.gz"]["status"] == "failed"
    assert "truncated gzip stream" in stats["truncated.json.gz"]["error"]
    assert "body is HTML, not JSON" in stats["html.json.gz"]["error"]
    assert stats["invalid.json"]["error"].startswith("invalid JSON")
    # the good file landed; nothing from the failed ones did
    rates = table(lake, "rates", "2026-11", "broken")
    assert rates.height == 51712 and rates["file_id"].n_unique() == 1
    file_rejects = table(lake, "rejects", "2026-11", "broken").filter(pl.col("level") == "file")
    assert file_rejects.height == 3
    log = run_log(instance, result)
    for name, message in (("truncated.json.gz", "truncated gzip stream"), ("html.json.gz", "body is HTML"),
                          ("invalid.json", "invalid JSON")):
        assert f"{name}: {message}" in log


def test_accuracy_and_completeness_checks_fail_on_bad_data(tmp_path, instance, payer_web):
    payer_web.add("/bad.json", sloppy_in_network())
    payer_web.add("/toc.json", toc_listing("bad.json"))
    result = materialize(instance, write_registry(tmp_path, "sloppy", payer_web.url("/toc.json")), str(tmp_path / "lake"),
                         "sloppy")
    assert not result.success
    checks = check_results(result)
    assert not checks["completeness"].passed and checks["completeness"].metadata["score"].value < 0.8
    assert not checks["accuracy"].passed and checks["accuracy"].metadata["score"].value == 0.0
    assert checks["reconciliation"].passed
    failures = checks["accuracy"].metadata["rule_failures"].value
    assert failures["negotiated_type_enum"] == failures["npi_check_digit"] == checks["accuracy"].metadata["rows"].value


def test_registry_waiver_is_what_lets_cms_examples_pass(tmp_path, instance):
    """The CMS examples' placeholder NPIs really do fail the accuracy gate without the waiver."""
    text = DEFAULT_REGISTRY.read_text().replace("waived_rules: [npi_check_digit]", "waived_rules: []")
    path = tmp_path / "payers.yaml"
    path.write_text(text.replace("url: demo/", f"url: {DEFAULT_REGISTRY.parent}/demo/"))
    assert load_registry(path)["cms-v2"].thresholds.waived_rules == ()
    result = materialize(instance, path, str(tmp_path / "lake"), "cms-v2")
    assert not result.success and not check_results(result)["accuracy"].passed
