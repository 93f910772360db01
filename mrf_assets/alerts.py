"""quality_alerts: one message per failed check (ERROR or WARN) or failed run, to a Slack-compatible
webhook and optionally by email, never the same alert twice.

Configured by environment: MRF_ALERT_WEBHOOK_URL (when set, the sensor runs by default under
`dagster dev` / the daemon), MRF_UI_URL for run links (default http://127.0.0.1:3000), optional
MRF_ALERT_EMAIL_TO / MRF_ALERT_EMAIL_FROM / MRF_ALERT_SMTP (host:port), MRF_ALERT_INTERVAL_SECONDS.
"""

import datetime as dt
import json
import os
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage

import dagster as dg
import requests

SENSOR_NAME = "quality_alerts"
LOOKBACK_HOURS = 24
BATCH = 200
REMEMBERED = 2000


@dataclass(frozen=True)
class Alert:
    key: str      # identity: the same key is never sent twice
    title: str
    lines: tuple[str, ...]
    link: str

    def slack(self) -> dict:
        text = f"*{self.title}*\n" + "\n".join(self.lines) + f"\n<{self.link}|Open the run in Dagster>"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str | None = None
    ui_url: str = "http://127.0.0.1:3000"
    email_to: str | None = None
    email_from: str = "mrf-platform@localhost"
    smtp: str | None = None
    interval_seconds: int = 60

    @classmethod
    def from_env(cls) -> "AlertSettings":
        env = os.environ
        return cls(webhook_url=env.get("MRF_ALERT_WEBHOOK_URL") or None,
                   ui_url=(env.get("MRF_UI_URL") or "http://127.0.0.1:3000").rstrip("/"),
                   email_to=env.get("MRF_ALERT_EMAIL_TO") or None,
                   email_from=env.get("MRF_ALERT_EMAIL_FROM") or "mrf-platform@localhost",
                   smtp=env.get("MRF_ALERT_SMTP") or None,
                   interval_seconds=int(env.get("MRF_ALERT_INTERVAL_SECONDS") or 60))

    def send(self, alert: Alert) -> None:
        if self.webhook_url:
            response = requests.post(self.webhook_url, json=alert.slack(), timeout=10)
            response.raise_for_status()
        if self.email_to and self.smtp:
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = alert.title, self.email_from, self.email_to
            message.set_content("\n".join(alert.lines) + f"\n\n{alert.link}")
            host, _, port = self.smtp.partition(":")
            with smtplib.SMTP(host, int(port or 25), timeout=10) as smtp:
                smtp.send_message(message)


def _figures(metadata: dict) -> list[str]:
    shown = []
    for name, value in metadata.items():
        value = getattr(value, "value", value)
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v)
        elif isinstance(value, list):
            value = "; ".join(str(v) for v in value[:5])
        if value not in (None, "", []):
            shown.append(f"{name}: {value}")
    return shown


def _failed_checks(instance: dg.DagsterInstance, run_id: str) -> list:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records
            if not r.event_log_entry.dagster_event.event_specific_data.passed]


def _error_text(event) -> str:
    error = getattr(event.event_specific_data, "error", None)
    return (error.message.strip() if error and error.message else event.message) or ""


def run_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun, ui_url: str) -> list[Alert]:
    """Alerts for one finished run: each failed check, or the run failure when no check explains it."""
    month, _, payer = run.tags.get("dagster/partition", "").partition("|")
    where = f"{payer or '?'} {month[:7] or '?'}"
    link = f"{ui_url}/runs/{run.run_id}"
    alerts = []
    for evaluation in _failed_checks(instance, run.run_id):
        check, severity = evaluation.check_name, evaluation.severity.value
        metadata = dict(evaluation.metadata or {})
        stale = getattr(metadata.get("stale_payers"), "value", None)
        if stale:  # ToC freshness covers every payer: one alert per stale payer and month
            alerts += [Alert(key=f"{check}|{s['payer']}|{s['month']}", link=link,
                             title=f"[{severity}] {s['payer']} {s['month']}: {check}",
                             lines=(f"ToC for {s['month']} still missing {s['days_late']} days after "
                                    f"posting day {s['posted']}",)) for s in stale]
            continue
        asset = evaluation.asset_key.to_user_string()
        alerts.append(Alert(key=f"{run.run_id}|{asset}|{check}", link=link, lines=tuple(_figures(metadata)),
                            title=f"[{severity}] {where}: check {check} failed on {asset}"))
    if run.status == dg.DagsterRunStatus.FAILURE and not alerts:
        errors = [_error_text(r.event_log_entry.dagster_event) for r in
                  instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records]
        alerts.append(Alert(key=f"{run.run_id}|run_failure", title=f"[ERROR] {where}: run failed", link=link,
                            lines=tuple(e[:500] for e in errors[:3]) or ("the run failed",)))
    return alerts


def build_alert_sensor(settings: AlertSettings | None = None) -> dg.SensorDefinition:
    settings = settings or AlertSettings.from_env()
    enabled = bool(settings.webhook_url or (settings.email_to and settings.smtp))

    @dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=settings.interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED,
               description="Posts failed checks and failed runs to MRF_ALERT_WEBHOOK_URL (Slack-compatible).")
    def quality_alerts(context: dg.SensorEvaluationContext):
        # Runs are read by their update time, not by event storage id: the default SQLite event log is
        # sharded per run, where storage ids are not a global cursor.
        state = json.loads(context.cursor) if context.cursor else {"since": time.time() - LOOKBACK_HOURS * 3600}
        sent = list(state.get("sent", []))
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
                                  updated_after=dt.datetime.fromtimestamp(state["since"], dt.timezone.utc)),
            limit=BATCH, ascending=True)
        posted = 0
        for record in records:
            for alert in run_alerts(context.instance, record.dagster_run, settings.ui_url):
                if alert.key in sent:
                    continue
                try:
                    settings.send(alert)
                except Exception as exc:  # keep the cursor: this alert is retried on the next tick
                    context.log.warning(f"alert not delivered, will retry: {exc}")
                    return _result(state, sent, posted)
                sent.append(alert.key)
                posted += 1
            # re-read the last second next time (same-timestamp runs); `sent` keeps that from repeating
            state["since"] = max(state["since"], record.update_timestamp.timestamp() - 1)
        return _result(state, sent, posted)

    return quality_alerts


def _result(state: dict, sent: list[str], posted: int) -> dg.SensorResult:
    state["sent"] = sent[-REMEMBERED:]
    return dg.SensorResult(cursor=json.dumps(state), skip_reason=None if posted else "no new failures")
