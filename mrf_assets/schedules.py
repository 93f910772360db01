"""One schedule per payer, firing on that payer's posting day for the month it falls in."""

import dagster as dg

from mrf_assets.partitions import month_payer_key
from payer_handlers import Payer

HOUR_UTC = 6


def schedule_name(slug: str) -> str:
    return f"{slug.replace('-', '_')}_posting_day"


def build_posting_day_schedule(payer: Payer, job) -> dg.ScheduleDefinition:
    day = payer.posting_day
    # Days 29-31 do not exist in every month: fire on 28-31 and keep the month's clamped posting day.
    cron = f"0 {HOUR_UTC} {day} * *" if day <= 28 else f"0 {HOUR_UTC} 28-31 * *"

    @dg.schedule(
        name=schedule_name(payer.slug), cron_schedule=cron, job=job, execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if payer.enabled else dg.DefaultScheduleStatus.STOPPED,
        description=f"{payer.name}: request the month's partition on posting day {day}.",
        tags={"payer": payer.slug},
    )
    def posting_day(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time.date()
        month = when.replace(day=1)
        if when != payer.posting_date(month):
            return dg.SkipReason(f"{when} is not {payer.slug}'s posting day ({payer.posting_date(month)})")
        return dg.RunRequest(run_key=f"{payer.slug}:{month:%Y-%m}", partition_key=month_payer_key(f"{month:%Y-%m}", payer.slug),
                             tags={"payer": payer.slug})

    return posting_day


def build_posting_day_schedules(payers: dict[str, Payer], job) -> list[dg.ScheduleDefinition]:
    return [build_posting_day_schedule(payer, job) for payer in payers.values()]
