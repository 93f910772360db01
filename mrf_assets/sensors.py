"""late_toc_sensor: polls for ToCs that were not there on the posting day, and for `poll` payers whose
posting day drifts, and requests each month x payer partition once, as soon as its ToC appears."""

import datetime as dt
import json

import dagster as dg

from mrf_assets.partitions import month_payer_key
from mrf_assets.resources import HttpResource, LakeResource
from mrf_assets.tic.discovery import TocNotFound, locate_toc, url_sha256
from mrf_assets.tic.toc_ingest import previous_toc
from payer_handlers import Payer

SENSOR_NAME = "late_toc_sensor"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.SUCCESS]


def is_due(payer: Payer, today: dt.date) -> bool:
    """A poll payer is watched from the 1st; others from their posting day on."""
    return payer.discovery.strategy == "poll" or today >= payer.posting_date(today.replace(day=1))


def has_run(instance: dg.DagsterInstance, partition_key: str) -> bool:
    """A queued, running or successful run already covers the partition (a schedule's, say)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition_key}, statuses=ACTIVE), limit=1)
    return bool(runs)


def build_late_toc_sensor(payers: dict[str, Payer], job, minimum_interval_seconds: int = 3600):
    @dg.sensor(name=SENSOR_NAME, job=job, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Requests a payer's month once its ToC is found (late or drifting payers).")
    def late_toc_sensor(context: dg.SensorEvaluationContext, http: HttpResource, lake: LakeResource):
        today = dt.datetime.now(dt.timezone.utc).date()
        month = today.replace(day=1)
        cursor = json.loads(context.cursor) if context.cursor else {}
        requests, waiting = [], []
        for payer in payers.values():
            key = month_payer_key(f"{month:%Y-%m}", payer.slug)
            if not payer.enabled or cursor.get(payer.slug) == f"{month:%Y-%m}" or not is_due(payer, today):
                continue
            if has_run(context.instance, str(key)):
                cursor[payer.slug] = f"{month:%Y-%m}"
                continue
            client = http.client(payer)
            try:
                source = locate_toc(payer, month, client, today=today)
                if payer.discovery.strategy == "fixed":
                    previous = previous_toc(lake.lake(), payer.slug, month)
                    if previous and previous[1].get("sha256") == url_sha256(client, source.url):
                        raise TocNotFound(f"{payer.slug}: ToC unchanged since {previous[0]}")
            except TocNotFound as exc:
                waiting.append(str(exc))
                continue
            context.log.info(f"{payer.slug}: ToC for {month:%Y-%m} found at {source.url}")
            requests.append(dg.RunRequest(run_key=f"{payer.slug}:{month:%Y-%m}", partition_key=key,
                                          tags={"payer": payer.slug}))
            cursor[payer.slug] = f"{month:%Y-%m}"
        skip = None if requests else ("; ".join(waiting) or "every due payer is requested or materialized")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True), skip_reason=skip)

    return late_toc_sensor
