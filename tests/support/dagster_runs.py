"""Run the ingest job through Dagster for one month x payer partition."""

from __future__ import annotations

import dagster as dg

from mrf_assets.definitions import INGEST_JOB, build_defs
from mrf_assets.partitions import month_payer_key


def materialize(instance: dg.DagsterInstance, payers_file, lake_url: str, payer: str,
                month: str = "2026-11") -> dg.ExecuteInProcessResult:
    defs = build_defs(payers_file=str(payers_file), lake_url=lake_url, offline=True)
    return defs.resolve_job_def(INGEST_JOB).execute_in_process(
        partition_key=month_payer_key(month, payer), instance=instance, raise_on_error=False,
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def run_log(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(entry.message or "" for entry in instance.all_logs(result.run_id))
