"""toc_freshness: warns when an enabled payer's ToC for the current month is still missing
`toc_grace_days` after its posting day. Evaluated daily by its own schedule."""

import datetime as dt

import dagster as dg

from mrf_assets.resources import LakeResource
from mrf_assets.tic.toc_ingest import TOC_TABLE
from payer_handlers import Payer

CHECK_NAME = "toc_freshness"
JOB_NAME = "toc_freshness_job"


def stale_payers(payers: dict[str, Payer], published, today: dt.date) -> list[dict]:
    """Payers whose month's ToC is not published `toc_grace_days` after posting day.
    `published(slug, 'YYYY-MM')` tells whether the ToC partition exists."""
    month = today.replace(day=1)
    stale = []
    for payer in payers.values():
        posted = payer.posting_date(month)
        days_late = (today - posted).days
        if payer.enabled and days_late > payer.thresholds.toc_grace_days and not published(payer.slug, f"{month:%Y-%m}"):
            stale.append({"payer": payer.slug, "month": f"{month:%Y-%m}", "posted": posted.isoformat(),
                          "days_late": days_late})
    return stale


def build_toc_freshness(payers: dict[str, Payer]):
    @dg.asset_check(asset="payer_toc", name=CHECK_NAME, blocking=False,
                    description="Every enabled payer's ToC for this month is published within toc_grace_days "
                                "(default 3) of its posting day.")
    def toc_freshness(lake: LakeResource) -> dg.AssetCheckResult:
        today = dt.datetime.now(dt.timezone.utc).date()
        store = lake.lake()
        stale = stale_payers(payers, lambda slug, month: store.manifest(TOC_TABLE, month, slug) is not None, today)
        return dg.AssetCheckResult(
            passed=not stale, severity=dg.AssetCheckSeverity.WARN,
            metadata={"stale_payers": dg.MetadataValue.json(stale), "checked_on": today.isoformat(),
                      "payers_checked": sum(p.enabled for p in payers.values())},
        )

    job = dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.checks(toc_freshness))
    schedule = dg.ScheduleDefinition(name="toc_freshness_daily", job=job, cron_schedule="0 8 * * *",
                                     execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)
    return toc_freshness, job, schedule
