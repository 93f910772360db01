"""Asset checks on normalized_rates, computed from the published partition (blocking)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from mrf_assets.tic import quality
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.tables import TABLES
from payer_handlers.base import Thresholds

RATES_KEY = dg.AssetKey("normalized_rates")
RATES_CHECKS = {
    "completeness": "Share of required fields present is at least the payer's threshold (default 80 %).",
    "accuracy": "Share of rows passing every rule (NPI check digit, TIN, billing-code format, rate > 0, "
                "dates, enumerations) is at least the payer's threshold (default 0.85).",
    "reconciliation": "Per file: prices x provider groups read = rows written + rejected + filtered; "
                      "a failed file fails the check.",
}


def rates_check_specs() -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=RATES_KEY, description=text, blocking=True)
            for name, text in RATES_CHECKS.items()]


def evaluate_rates_checks(lake: Lake, month: str, payer: str, thresholds: Thresholds) -> list[dg.AssetCheckResult]:
    def scan(table: str) -> pl.LazyFrame:
        return lake.scan(table, month, payer, TABLES[table])

    rates = scan("rates")
    complete = quality.completeness(rates)
    accurate = quality.accuracy(rates, scan("providers"), scan("organizations"), thresholds.waived_rules)
    stats = pl.from_arrow(lake.read("file_stats", month, payer, TABLES["file_stats"]))
    reconciled = quality.reconciliation(stats, rates, scan("rejects"))
    return [
        _result("completeness", complete, thresholds.completeness),
        _result("accuracy", accurate, thresholds.accuracy),
        dg.AssetCheckResult(
            check_name="reconciliation", passed=reconciled.details["files_unreconciled"] == 0,
            metadata={"share_reconciled": round(reconciled.score, 4), **_flat(reconciled.details)},
        ),
    ]


def _result(name: str, score: quality.Score, threshold: float) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, passed=score.rows > 0 and score.score >= threshold,
        metadata={"score": round(score.score, 4), "threshold": threshold, "rows": score.rows,
                  **_flat(score.details)},
    )


def _flat(details: dict) -> dict:
    return {k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in details.items()}
