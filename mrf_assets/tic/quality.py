"""Quality measures computed from the data: completeness, accuracy (rule by rule) and reconciliation.

Everything here works on polars LazyFrames over the published parquet parts, so the scores of a
partition of any size are computed without loading it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from mrf_assets.tic.rules import RULE_COLUMNS, RULES, group_npi_ok, rule_expressions, tin_ok

REQUIRED = ("billing_code", "billing_code_type", "billing_code_type_version", "negotiation_arrangement",
            "name", "description", "negotiated_type", "negotiated_rate", "expiration_date", "billing_class",
            "provider_group_uuid", "organization_uuid", "last_updated_on")
OUTLIER_FACTOR = 20.0


def _present(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.String:
        return col.is_not_null() & (col.str.strip_chars() != "")
    if isinstance(dtype, pl.List):
        return col.is_not_null() & (col.list.len() > 0)
    return col.is_not_null()


@dataclass
class Score:
    score: float
    rows: int
    details: dict = field(default_factory=dict)


def completeness(rates: pl.LazyFrame) -> Score:
    """Share of required cells present. `service_code` is required on professional prices and
    `setting` on schema 2.x files (the CMS rules), so they count only there."""
    schema = rates.collect_schema()
    exprs = [_present(c, schema[c]).sum().alias(c) for c in REQUIRED]
    professional = pl.col("billing_class") == "professional"
    v2 = pl.col("schema_version").str.starts_with("2")
    exprs += [
        (professional & _present("service_code", schema["service_code"])).sum().alias("service_code"),
        professional.sum().alias("_professional"),
        (v2 & _present("setting", schema["setting"])).sum().alias("setting"),
        v2.sum().alias("_v2"), pl.len().alias("_rows"),
    ]
    got = rates.select(exprs).collect().row(0, named=True)
    rows = got["_rows"]
    required = rows * len(REQUIRED) + (got["_professional"] or 0) + (got["_v2"] or 0)
    present = sum(got[c] or 0 for c in (*REQUIRED, "service_code", "setting"))
    fields = {c: round((got[c] or 0) / rows, 4) for c in REQUIRED} if rows else {}
    return Score(present / required if required else 0.0, rows, {"field_presence": fields})


def accuracy(rates: pl.LazyFrame, providers: pl.LazyFrame, organizations: pl.LazyFrame,
             waived: tuple[str, ...] = ()) -> Score:
    """Share of rate rows that pass every rule not waived; each rule's failures are counted on their own."""
    unknown = set(waived) - set(RULES)
    if unknown:
        raise ValueError(f"unknown accuracy rule(s) {sorted(unknown)}; known: {list(RULES)}")
    groups = providers.group_by("provider_group_uuid").agg(group_npi_ok(pl.col("npi")).alias("npi_ok"))
    orgs = organizations.select("organization_uuid", tin_ok().alias("tin_ok")).unique("organization_uuid")
    rules = rule_expressions()
    checked = (
        rates.select(RULE_COLUMNS)
        .join(groups, on="provider_group_uuid", how="left")
        .join(orgs, on="organization_uuid", how="left")
        .select([rule.alias(name) for name, rule in rules.items()])
    )
    all_ok = pl.all_horizontal([pl.col(n) for n in rules if n not in waived])
    got = checked.select(
        [(~pl.col(n)).sum().alias(n) for n in rules] + [all_ok.sum().alias("_passed"), pl.len().alias("_rows")]
    ).collect().row(0, named=True)
    rows = got["_rows"]
    failures = {n: int(got[n] or 0) for n in rules}
    return Score((got["_passed"] or 0) / rows if rows else 0.0, rows,
                 {"rule_failures": failures, "waived_rules": list(waived), "outliers": outliers(rates)})


def outliers(rates: pl.LazyFrame) -> int:
    """Rows priced over OUTLIER_FACTOR x the median of the same code and rate type: flagged, not failed."""
    key = ["billing_code_type", "billing_code", "negotiated_type"]
    medians = rates.group_by(key).agg(pl.col("negotiated_rate").median().alias("_median"))
    flagged = rates.select(*key, "negotiated_rate").join(medians, on=key, how="left").filter(
        pl.col("negotiated_rate") > pl.col("_median") * OUTLIER_FACTOR)
    return int(flagged.select(pl.len()).collect().item())


def referential_integrity(rates: pl.LazyFrame, provider_sets: pl.LazyFrame, providers: pl.LazyFrame,
                          organizations: pl.LazyFrame) -> Score:
    """Rates -> provider sets -> provider groups -> organizations: every reference resolves."""
    sets = provider_sets.select("provider_set_uuid").unique()
    groups = providers.select("provider_group_uuid").unique()
    orgs = organizations.select("organization_uuid").unique()
    counts = {
        "rates_without_provider_set": rates.select("provider_set_uuid").join(sets, on="provider_set_uuid", how="anti"),
        "set_members_without_group": provider_sets.select("provider_group_uuid").join(
            groups, on="provider_group_uuid", how="anti"),
        "set_members_without_organization": provider_sets.select("organization_uuid").join(
            orgs, on="organization_uuid", how="anti"),
        "providers_without_organization": providers.select("organization_uuid").join(orgs, on="organization_uuid",
                                                                                     how="anti"),
    }
    found = {name: int(frame.select(pl.len()).collect().item()) for name, frame in counts.items()}
    rows = int(rates.select(pl.len()).collect().item())
    return Score(1.0 if not any(found.values()) else 0.0, rows, found)


def uniqueness(rates: pl.LazyFrame) -> Score:
    got = rates.select(pl.len().alias("rows"), pl.col("rate_uuid").n_unique().alias("unique")).collect().row(0, named=True)
    duplicates = got["rows"] - got["unique"]
    return Score(got["unique"] / got["rows"] if got["rows"] else 1.0, got["rows"], {"duplicate_rate_uuids": duplicates})


def volume_change(rows: int, previous_rows: int | None, max_change: float) -> Score:
    """Month-over-month change of a payer's row count; score 1 when within +/- max_change."""
    if not previous_rows:
        return Score(1.0, rows, {"previous_rows": previous_rows, "change": None, "max_change": max_change})
    change = rows / previous_rows - 1
    return Score(1.0 if abs(change) <= max_change else 0.0, rows,
                 {"previous_rows": previous_rows, "change": round(change, 4), "max_change": max_change})


def reconciliation(file_stats: pl.DataFrame, rates: pl.LazyFrame, rejects: pl.LazyFrame) -> Score:
    """Per file: expected rows (prices x provider groups, counted while reading) must equal the rows
    found in the denormalized `rates` + the rows recorded in `rejects` + rows filtered. Failed files
    fail the check."""
    written = rates.group_by("file_id").agg(pl.len().alias("rows_in_lake")).collect()
    rejected = rejects.group_by("file_id").agg(pl.col("rows").sum().alias("rejects_in_lake")).collect()
    table = (
        file_stats.join(written, on="file_id", how="left").join(rejected, on="file_id", how="left")
        .with_columns(pl.col("rows_in_lake", "rejects_in_lake").fill_null(0))
        .with_columns(
            (pl.col("expected_rows").fill_null(0)
             - pl.col("rows_in_lake") - pl.col("rejects_in_lake") - pl.col("rows_filtered").fill_null(0))
            .alias("unaccounted"),
        )
        .with_columns(((pl.col("status") == "ok") & (pl.col("unaccounted") == 0)).alias("reconciled"))
    )
    bad = table.filter(~pl.col("reconciled"))
    details = {
        "files": table.height, "files_failed": int((table["status"] != "ok").sum()),
        "files_unreconciled": bad.height,
        "problems": [
            f"{r['url']}: {r['error']}" if r["status"] != "ok"
            else f"{r['url']}: expected {r['expected_rows']} rows, lake has {r['rows_in_lake']} + "
                 f"{r['rejects_in_lake']} rejected + {r['rows_filtered']} filtered"
            for r in bad.head(20).iter_rows(named=True)
        ],
    }
    return Score(1.0 - bad.height / table.height if table.height else 1.0, table.height, details)
