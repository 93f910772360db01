"""Each payer's schedule fires on its posting day for the month it falls in (ticks evaluated)."""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import pytest

from mrf_assets.definitions import build_defs
from mrf_assets.schedules import schedule_name

REGISTRY = """
payers:
  - {slug: priority-health, posting_day: 1, discovery: {strategy: dated, url: "https://x.test/{date:%Y-%m-%d}.json"}}
  - {slug: aetna, posting_day: 5, discovery: {strategy: dated, url: "https://x.test/{date:%Y-%m-%d}.json"}}
  - {slug: hcsc-il, posting_day: 21, discovery: {strategy: dated, url: "https://x.test/{date:%Y-%m-%d}.json"}}
  - {slug: late-blue, posting_day: 31, enabled: false, discovery: {strategy: dated, url: "https://x.test/{date:%Y-%m-%d}.json"}}
"""


@pytest.fixture
def defs(tmp_path):
    path = tmp_path / "payers.yaml"
    path.write_text(textwrap.dedent(REGISTRY))
    return build_defs(payers_file=str(path), lake_url=str(tmp_path / "lake"), offline=True)


@pytest.fixture(autouse=True)
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(defs, slug: str, when: dt.datetime):
    schedule = defs.resolve_schedule_def(schedule_name(slug))
    context = dg.build_schedule_context(instance=dg.DagsterInstance.get(), scheduled_execution_time=when,
                                        repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context)


@pytest.mark.parametrize("slug, day, cron", [
    ("priority-health", 1, "0 6 1 * *"), ("aetna", 5, "0 6 5 * *"), ("hcsc-il", 21, "0 6 21 * *"),
])
def test_fires_on_posting_day_for_that_month(defs, slug, day, cron):
    assert defs.resolve_schedule_def(schedule_name(slug)).cron_schedule == cron
    result = tick(defs, slug, dt.datetime(2026, 3, day, 6, tzinfo=dt.timezone.utc))
    [request] = result.run_requests
    assert request.partition_key == f"2026-03-01|{slug}"
    assert request.tags["payer"] == slug and request.run_key == f"{slug}:2026-03"


def test_day_31_is_clamped_to_short_months(defs):
    schedule = defs.resolve_schedule_def(schedule_name("late-blue"))
    assert schedule.cron_schedule == "0 6 28-31 * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # disabled payer
    feb = tick(defs, "late-blue", dt.datetime(2026, 2, 28, 6, tzinfo=dt.timezone.utc))
    assert [r.partition_key for r in feb.run_requests] == ["2026-02-01|late-blue"]
    early = tick(defs, "late-blue", dt.datetime(2026, 3, 28, 6, tzinfo=dt.timezone.utc))
    assert not early.run_requests and "not late-blue's posting day" in early.skip_message
    end = tick(defs, "late-blue", dt.datetime(2026, 3, 31, 6, tzinfo=dt.timezone.utc))
    assert [r.partition_key for r in end.run_requests] == ["2026-03-01|late-blue"]


def test_enabled_payers_schedules_run_by_default(defs):
    assert defs.resolve_schedule_def(schedule_name("aetna")).default_status == dg.DefaultScheduleStatus.RUNNING
