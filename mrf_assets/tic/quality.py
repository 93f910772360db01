"""Quality measures computed from the data: completeness, accuracy (rule by rule) and reconciliation.

Everything here works on polars LazyFrames over the published parquet parts, so the scores of a
partition of any size are computed without loading it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

REQUIRED = ("billing_code", "billing_code_type", "billing_code_type_version", "negotiation_arrangement",
            "name", "description", "negotiated_type", "negotiated_rate", "expiration_date", "billing_class",
            "provider_group_uuid", "organization_uuid", "last_updated_on")

NEGOTIATION_ARRANGEMENTS = ("ffs", "bundle", "capitation")
NEGOTIATED_TYPES = ("negotiated", "derived", "fee schedule", "percentage", "per diem")
BILLING_CLASSES = ("professional", "institutional", "both")
SETTINGS = ("inpatient", "outpatient", "both")
_DRG = r"^\d{1,4}$"
BILLING_CODE_FORMATS = {
    "CPT": r"^\d{4}[0-9A-Z]$",
    "HCPCS": r"^([A-Z]\d{4}|\d{4}[0-9A-Z])$",
    "MS-DRG": _DRG, "R-DRG": _DRG, "S-DRG": _DRG, "APS-DRG": _DRG, "AP-DRG": _DRG, "APR-DRG": r"^\d{1,4}(-\d)?$",
    "RC": r"^\d{3,4}$",
    "ICD": r"^[A-Z0-9]{3}(\.?[A-Z0-9]{1,4})?$|^\d{2}\.?\d{1,2}$",
    "NDC": r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2}|\d{10,11})$",
    "CDT": r"^D\d{4}$",
    "APC": r"^\d{1,5}$",
    "EAPG": r"^\d{1,5}$",
    "HIPPS": r"^[0-9A-Z]{5}$",
    "LOCAL": r"^\S.*$",
    "CSTM-ALL": r"^CSTM-00$",
}
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def npi_valid(npi: pl.Expr) -> pl.Expr:
    """10 digits whose last digit is the Luhn check digit of '80840' + the first nine."""
    base, check = npi // 10, npi % 10
    total = pl.lit(24, dtype=pl.Int64)  # the Luhn contribution of the 80840 prefix
    for k in range(9):
        digit = (base // (10 ** k)) % 10
        if k % 2 == 0:
            doubled = digit * 2
            digit = pl.when(doubled > 9).then(doubled - 9).otherwise(doubled)
        total = total + digit
    in_range = (npi >= 1_000_000_000) & (npi <= 9_999_999_999)
    return (in_range & (check == (10 - total % 10) % 10)).fill_null(False)


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


def _billing_code_ok() -> pl.Expr:
    code, kind = pl.col("billing_code").str.strip_chars(), pl.col("billing_code_type")
    expr = pl.lit(False)
    for code_type, pattern in BILLING_CODE_FORMATS.items():
        expr = pl.when(kind == code_type).then(code.str.contains(pattern)).otherwise(expr)
    return ((code == "CSTM-00") & kind.is_in(list(BILLING_CODE_FORMATS)) | expr).fill_null(False)


def _date_ok(name: str) -> pl.Expr:
    col = pl.col(name)
    return col.str.contains(_ISO_DATE) & col.str.to_date("%Y-%m-%d", strict=False).is_not_null()


def _tin_ok() -> pl.Expr:
    value, kind = pl.col("tin_value"), pl.col("tin_type")
    ein = (kind == "ein") & value.str.contains(r"^\d{9}$")
    npi = (kind == "npi") & npi_valid(value.cast(pl.Int64, strict=False))
    return (ein | npi).fill_null(False)


RULES = ("npi_check_digit", "tin_format", "billing_code_format", "rate_positive", "expiration_date_valid",
         "last_updated_on_valid", "negotiation_arrangement_enum", "negotiated_type_enum",
         "billing_class_enum", "setting_enum")


def accuracy(rates: pl.LazyFrame, providers: pl.LazyFrame, organizations: pl.LazyFrame,
             waived: tuple[str, ...] = ()) -> Score:
    """Share of rate rows that pass every rule not waived; each rule's failures are counted on their own."""
    unknown = set(waived) - set(RULES)
    if unknown:
        raise ValueError(f"unknown accuracy rule(s) {sorted(unknown)}; known: {list(RULES)}")
    groups = providers.group_by("provider_group_uuid").agg(
        (npi_valid(pl.col("npi")).all() | ((pl.col("npi") == 0).all() & (pl.len() == 1))).alias("npi_ok")
    )
    orgs = organizations.select("organization_uuid", _tin_ok().alias("tin_ok")).unique("organization_uuid")
    setting = pl.col("setting")
    rules = {
        "npi_check_digit": pl.col("npi_ok").fill_null(False),
        "tin_format": pl.col("tin_ok").fill_null(False),
        "billing_code_format": _billing_code_ok(),
        "rate_positive": (pl.col("negotiated_rate") > 0).fill_null(False),
        "expiration_date_valid": _date_ok("expiration_date").fill_null(False),
        "last_updated_on_valid": _date_ok("last_updated_on").fill_null(False),
        "negotiation_arrangement_enum": pl.col("negotiation_arrangement").is_in(NEGOTIATION_ARRANGEMENTS).fill_null(False),
        "negotiated_type_enum": pl.col("negotiated_type").is_in(NEGOTIATED_TYPES).fill_null(False),
        "billing_class_enum": pl.col("billing_class").is_in(BILLING_CLASSES).fill_null(False),
        "setting_enum": (setting.is_null() | setting.is_in(SETTINGS)).fill_null(False),
    }
    checked = (
        rates.select("provider_group_uuid", "organization_uuid", "billing_code", "billing_code_type",
                     "negotiated_rate", "expiration_date", "last_updated_on", "negotiation_arrangement",
                     "negotiated_type", "billing_class", "setting")
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
                 {"rule_failures": failures, "waived_rules": list(waived)})


def reconciliation(file_stats: pl.DataFrame, rates: pl.LazyFrame, rejects: pl.LazyFrame) -> Score:
    """Per file: expected rows (prices x provider groups, counted while reading) must equal the rows
    found in `rates` + the rows recorded in `rejects` + rows filtered. Failed files fail the check."""
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
