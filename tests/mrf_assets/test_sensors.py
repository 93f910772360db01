"""late_toc_sensor end to end: a late ToC is found, exactly its partition is requested, the run
materializes it, and later ticks request nothing."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import dagster as dg
import pytest

from mrf_assets.definitions import INGEST_JOB, build_defs
from mrf_assets.sensors import SENSOR_NAME, is_due
from payer_handlers import load_registry
from tests.conftest import DEMO, FIXTURES

TODAY = dt.datetime.now(dt.timezone.utc).date()
MONTH = TODAY.replace(day=1)


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                 resources=defs.resources) as context:
        return sensor.evaluate_tick(context)


def test_late_toc_requested_once_and_materialized(tmp_path, instance, payer_web):
    registry = tmp_path / "payers.yaml"
    registry.write_text(textwrap.dedent(f"""
        payers:
          - slug: late-blue
            posting_day: {TODAY.day}
            discovery: {{strategy: dated, url: "{payer_web.base_url}/toc/{{date:%Y-%m-%d}}_late-blue_index.json"}}
            thresholds: {{waived_rules: [npi_check_digit]}}  # the CMS example's placeholder NPIs
          - slug: not-yet
            posting_day: {min(TODAY.day + 1, 31) if TODAY.day < 28 else 31}
            discovery: {{strategy: dated, url: "{payer_web.base_url}/never/{{date:%Y-%m-%d}}.json"}}
        """))
    defs = build_defs(payers_file=str(registry), lake_url=str(tmp_path / "lake"), offline=True)

    first = tick(defs, instance)  # posting day, but the ToC is not there yet
    assert not first.run_requests and "HTTP 404" in first.skip_message

    toc = json.loads((FIXTURES / "toc-cms-v2.2.0.json").read_text())
    toc["reporting_structure"] = toc["reporting_structure"][:1]
    toc["reporting_structure"][0]["in_network_files"] = [{"description": "ffs", "location": "rates/ffs.json"}]
    toc["reporting_structure"][0].pop("allowed_amount_file")
    payer_web.add("/toc/rates/ffs.json", (DEMO / "cms-v2" / "in-network-rates-fee-for-service-single-plan-sample.json").read_bytes())
    payer_web.add(f"/toc/{TODAY:%Y-%m-%d}_late-blue_index.json", json.dumps(toc).encode())

    second = tick(defs, instance, first.cursor)
    [request] = second.run_requests
    assert request.partition_key == f"{MONTH:%Y-%m-%d}|late-blue" and request.tags["payer"] == "late-blue"
    run = defs.resolve_job_def(INGEST_JOB).execute_in_process(partition_key=request.partition_key, instance=instance,
                                                              tags=request.tags)
    assert run.success
    assert {e.check_name: e.passed for e in run.get_asset_check_evaluations()}["reconciliation"]

    third = tick(defs, instance, second.cursor)
    assert not third.run_requests
    # even with its cursor lost, the sensor sees the successful run and asks for nothing
    assert not tick(defs, instance, None).run_requests


def test_poll_payers_are_watched_from_the_first(tmp_path):
    registry = tmp_path / "payers.yaml"
    registry.write_text(textwrap.dedent("""
        payers:
          - {slug: drift, posting_day: 20, discovery: {strategy: poll, url: "https://x.test/{date:%Y-%m-%d}.json"}}
          - {slug: fixed-day, posting_day: 20, discovery: {strategy: dated, url: "https://x.test/{date:%Y-%m-%d}.json"}}
        """))
    payers = load_registry(registry)
    assert is_due(payers["drift"], dt.date(2026, 11, 2)) and not is_due(payers["fixed-day"], dt.date(2026, 11, 2))
    assert is_due(payers["fixed-day"], dt.date(2026, 11, 20))
