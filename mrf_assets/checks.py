"""Asset checks on normalized_rates, computed from the published partition.

Blocking (ERROR): completeness, accuracy, reconciliation, referential integrity, rate_uuid uniqueness.
Warning only: month-over-month volume change.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from mrf_assets.tic import quality
from mrf_assets.tic.lake import Lake, previous_month
from mrf_assets.tic.tables import TABLES
from mrf_assets.tic.views import denormalized_rates
from payer_handlers.base import Thresholds

RATES_KEY = dg.AssetKey("normalized_rates")
BLOCKING = {
    "completeness": "Share of required fields present is at least the payer's threshold (default 80 %).",
    "accuracy": "Share of rows passing every rule (NPI check digit, TIN, billing-code format, rate > 0 and "
                "plausible, dates, enumerations, place of service) is at least the payer's threshold (default 0.85).",
    "reconciliation": "Per file: prices x provider groups read = rows written + rejected + filtered; "
                      "a failed file fails the check.",
    "referential_integrity": "Every rate's provider set, every set member's provider group and organization, "
                             "and every group's organization exist.",
    "rate_uuid_unique": "rate_uuid is unique in the partition (one row per price with its provider set).",
}
WARNINGS = {
    "volume_change": "Row count within the payer's allowed month-over-month change (default +/-50 %).",
}


def rates_check_specs() -> list[dg.AssetCheckSpec]:
    return ([dg.AssetCheckSpec(n, asset=RATES_KEY, description=d, blocking=True) for n, d in BLOCKING.items()]
            + [dg.AssetCheckSpec(n, asset=RATES_KEY, description=d) for n, d in WARNINGS.items()])


def evaluate_rates_checks(lake: Lake, month: str, payer: str, thresholds: Thresholds) -> list[dg.AssetCheckResult]:
    def scan(table: str) -> pl.LazyFrame:
        return lake.scan(table, month, payer, TABLES[table])

    rates, sets, providers, orgs = scan("rates"), scan("provider_sets"), scan("providers"), scan("organizations")
    full = denormalized_rates(rates, sets)  # the grain the scores and counts are defined on
    stats = pl.from_arrow(lake.read("file_stats", month, payer, TABLES["file_stats"]))
    reconciled = quality.reconciliation(stats, full, scan("rejects"))
    integrity = quality.referential_integrity(rates, sets, providers, orgs)
    unique = quality.uniqueness(rates)
    volume = quality.volume_change(unique.rows, _previous_rows(lake, month, payer), thresholds.volume_change)
    return [
        _scored("completeness", quality.completeness(full), thresholds.completeness),
        _scored("accuracy", quality.accuracy(full, providers, orgs, thresholds.waived_rules), thresholds.accuracy),
        _result("reconciliation", reconciled.details["files_unreconciled"] == 0, reconciled,
                extra={"share_reconciled": round(reconciled.score, 4)}),
        _result("referential_integrity", integrity.score == 1.0, integrity),
        _result("rate_uuid_unique", unique.details["duplicate_rate_uuids"] == 0, unique),
        _result("volume_change", volume.score == 1.0, volume, severity=dg.AssetCheckSeverity.WARN),
    ]


def _previous_rows(lake: Lake, month: str, payer: str) -> int | None:
    manifest = lake.manifest("rates", previous_month(month), payer)
    return manifest["rows"] if manifest else None


def _scored(name: str, score: quality.Score, threshold: float) -> dg.AssetCheckResult:
    return _result(name, score.rows > 0 and score.score >= threshold, score,
                   extra={"score": round(score.score, 4), "threshold": threshold})


def _result(name: str, passed: bool, measured: quality.Score, severity=dg.AssetCheckSeverity.ERROR,
            extra: dict | None = None) -> dg.AssetCheckResult:
    metadata = {**(extra or {}), "rows": measured.rows, **measured.details}
    return dg.AssetCheckResult(
        check_name=name, passed=bool(passed), severity=severity,
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                  for k, v in metadata.items() if v is not None},
    )
