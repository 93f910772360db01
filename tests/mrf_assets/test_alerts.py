"""Alerts: one message per failed check or failed run, to a loopback webhook, never twice."""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import pytest

from mrf_assets.alerts import SENSOR_NAME, AlertSettings, build_alert_sensor
from mrf_assets.definitions import INGEST_JOB, build_defs
from mrf_assets.freshness import JOB_NAME, stale_payers
from mrf_assets.partitions import month_payer_key
from payer_handlers import load_registry
from payer_handlers.registry import DEFAULT_REGISTRY
from tests.support.registries import sloppy_in_network, toc_listing, write_registry
from tests.support.webhook import WebhookReceiver

MONTH = "2026-11"


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def receiver():
    with WebhookReceiver() as hook:
        yield hook


def tick(defs, instance, cursor):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        result = sensor.evaluate_tick(context)
    return result.cursor


def run(defs, instance, payer: str):
    return defs.resolve_job_def(INGEST_JOB).execute_in_process(
        partition_key=month_payer_key(MONTH, payer), instance=instance, raise_on_error=False)


def sloppy_defs(tmp_path, payer_web, monkeypatch, receiver, extra: str = ""):
    monkeypatch.setenv("MRF_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("MRF_UI_URL", "http://dagster.example:3000")
    payer_web.add("/bad.json", sloppy_in_network())
    payer_web.add("/toc.json", toc_listing("bad.json"))
    registry = write_registry(tmp_path, "sloppy", payer_web.url("/toc.json"), extra)
    return build_defs(payers_file=str(registry), lake_url=str(tmp_path / "lake"), offline=True)


def test_one_alert_per_failed_check_and_never_twice(tmp_path, instance, payer_web, monkeypatch, receiver):
    defs = sloppy_defs(tmp_path, payer_web, monkeypatch, receiver)
    assert defs.resolve_sensor_def(SENSOR_NAME).default_status == dg.DefaultSensorStatus.RUNNING
    cursor = tick(defs, instance, None)
    assert receiver.posts == []
    result = run(defs, instance, "sloppy")
    assert not result.success
    cursor = tick(defs, instance, cursor)
    texts = receiver.texts()
    assert len(texts) == 2  # completeness and accuracy failed; the run failure they caused is not repeated
    completeness = next(t for t in texts if "check completeness failed" in t)
    assert "[ERROR] sloppy 2026-11" in completeness and "score: 0." in completeness and "threshold: 0.8" in completeness
    assert f"http://dagster.example:3000/runs/{result.run_id}" in completeness
    accuracy = next(t for t in texts if "check accuracy failed" in t)
    assert "negotiated_type_enum=" in accuracy
    tick(defs, instance, cursor)
    assert len(receiver.posts) == 2


def test_clean_run_sends_nothing(tmp_path, instance, monkeypatch, receiver):
    monkeypatch.setenv("MRF_ALERT_WEBHOOK_URL", receiver.url)
    defs = build_defs(payers_file=str(DEFAULT_REGISTRY), lake_url=str(tmp_path / "lake"), offline=True)
    cursor = tick(defs, instance, None)
    assert run(defs, instance, "cms-v1").success
    tick(defs, instance, cursor)
    assert receiver.posts == []


def test_failed_run_without_failed_checks_alerts_once(tmp_path, instance, payer_web, monkeypatch, receiver):
    monkeypatch.setenv("MRF_ALERT_WEBHOOK_URL", receiver.url)
    registry = write_registry(tmp_path, "gone", payer_web.url("/missing-toc.json"))
    defs = build_defs(payers_file=str(registry), lake_url=str(tmp_path / "lake"), offline=True)
    cursor = tick(defs, instance, None)
    assert not run(defs, instance, "gone").success
    cursor = tick(defs, instance, cursor)
    [text] = receiver.texts()
    assert "[ERROR] gone 2026-11: run failed" in text and "HTTP 404" in text
    tick(defs, instance, cursor)
    assert len(receiver.posts) == 1


def test_undelivered_alert_is_retried_not_lost(tmp_path, instance, payer_web, monkeypatch):
    with WebhookReceiver(fail_first=1) as flaky:
        defs = sloppy_defs(tmp_path, payer_web, monkeypatch, flaky)
        cursor = tick(defs, instance, None)
        run(defs, instance, "sloppy")
        cursor = tick(defs, instance, cursor)  # first post answered 503
        assert len(flaky.posts) == 0
        cursor = tick(defs, instance, cursor)
        assert len(flaky.posts) == 2
        tick(defs, instance, cursor)
        assert len(flaky.posts) == 2


def test_alert_sensor_is_stopped_without_a_destination(monkeypatch):
    monkeypatch.delenv("MRF_ALERT_WEBHOOK_URL", raising=False)
    assert build_alert_sensor(AlertSettings()).default_status == dg.DefaultSensorStatus.STOPPED


def test_stale_payers():
    payers = load_registry(DEFAULT_REGISTRY)
    today = dt.date(2026, 11, 23)
    stale = stale_payers(payers, lambda slug, month: slug == "cms-v2", today)
    assert [s["payer"] for s in stale] == ["cms-v1", "real-2022"]  # enabled, unpublished, 22 days late
    assert stale[0] == {"payer": "cms-v1", "month": "2026-11", "posted": "2026-11-01", "days_late": 22}
    assert stale_payers(payers, lambda slug, month: False, dt.date(2026, 11, 3)) == []  # within grace


def test_toc_freshness_warns_once_per_payer_and_month(tmp_path, instance, monkeypatch, receiver):
    monkeypatch.setenv("MRF_ALERT_WEBHOOK_URL", receiver.url)
    registry = tmp_path / "payers.yaml"
    registry.write_text(textwrap.dedent("""
        payers:
          - {slug: overdue, posting_day: 1, thresholds: {toc_grace_days: 0}, discovery: {strategy: dated, url: "https://x.test/toc.json"}}
        """))
    defs = build_defs(payers_file=str(registry), lake_url=str(tmp_path / "lake"), offline=True)
    cursor = tick(defs, instance, None)
    job = defs.resolve_job_def(JOB_NAME)
    for _ in range(2):  # evaluated on two days: the same stale month alerts once
        result = job.execute_in_process(instance=instance)
        [evaluation] = result.get_asset_check_evaluations()
        today = dt.datetime.now(dt.timezone.utc).date()
        assert evaluation.passed is (today.day == 1)
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        cursor = tick(defs, instance, cursor)
    if today.day > 1:
        [text] = receiver.texts()
        assert "[WARN] overdue" in text and "toc_freshness" in text and "days after posting day" in text


def test_email_alerts(tmp_path, instance, payer_web, monkeypatch, receiver):
    import smtpd  # noqa: F401 - Python 3.11's own SMTP server, enough for a loopback receiver
    from tests.support.smtp import SmtpReceiver

    with SmtpReceiver() as smtp:
        monkeypatch.setenv("MRF_ALERT_EMAIL_TO", "data-team@example.org")
        monkeypatch.setenv("MRF_ALERT_SMTP", smtp.address)
        defs = sloppy_defs(tmp_path, payer_web, monkeypatch, receiver)
        cursor = tick(defs, instance, None)
        run(defs, instance, "sloppy")
        tick(defs, instance, cursor)
        assert len(smtp.messages) == 2 and all("data-team@example.org" in m for m in smtp.messages)
