"""The accuracy rules: one polars expression per rule, each true when a rate row passes it.

Rows are `rates` joined with their provider group's NPI verdict (`npi_ok`) and organization's TIN
verdict (`tin_ok`). The rules follow the CMS schemas (2.x where it is stricter) and real code systems.
"""

from __future__ import annotations

import polars as pl

NEGOTIATION_ARRANGEMENTS = ("ffs", "bundle", "capitation")
NEGOTIATED_TYPES = ("negotiated", "derived", "fee schedule", "percentage", "per diem")
BILLING_CLASSES = ("professional", "institutional", "both")
SETTINGS = ("inpatient", "outpatient", "both")
# CMS place-of-service codes allowed by the 2.x schema, plus CSTM-00 (all places of service).
POS_CODES = tuple(f"{n:02d}" for n in [*range(1, 28), *range(31, 35), 41, 42, *range(49, 59), 60, 61, 62,
                                         65, 66, 71, 72, 81, 99]) + ("CSTM-00",)
_DRG = r"^\d{1,4}$"  # MS-DRG 470 is also published zero-padded as 0470
BILLING_CODE_FORMATS = {
    "CPT": r"^\d{4}[0-9A-Z]$",
    "HCPCS": r"^([A-Z]\d{4}|\d{4}[0-9A-Z])$",  # Level I HCPCS are CPT codes
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
# Dollar amounts above these are implausible for one service (a DRG stay may cost millions).
MAX_DOLLARS = {"MS-DRG": 5_000_000.0, "APR-DRG": 5_000_000.0, "AP-DRG": 5_000_000.0, "R-DRG": 5_000_000.0,
               "S-DRG": 5_000_000.0, "APS-DRG": 5_000_000.0}
DEFAULT_MAX_DOLLARS = 1_000_000.0
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


def group_npi_ok(npi: pl.Expr) -> pl.Expr:
    """Aggregation over a provider group's NPIs: all valid, or exactly [0] (a TIN-level contract)."""
    return npi_valid(npi).all() | ((npi == 0).all() & (npi.len() == 1))


def tin_ok() -> pl.Expr:
    value, kind = pl.col("tin_value"), pl.col("tin_type")
    ein = (kind == "ein") & value.str.contains(r"^\d{9}$")
    npi = (kind == "npi") & npi_valid(value.cast(pl.Int64, strict=False))
    return (ein | npi).fill_null(False)


def billing_code_ok() -> pl.Expr:
    code, kind = pl.col("billing_code").str.strip_chars(), pl.col("billing_code_type")
    expr = pl.lit(False)
    for code_type, pattern in BILLING_CODE_FORMATS.items():
        expr = pl.when(kind == code_type).then(code.str.contains(pattern)).otherwise(expr)
    return ((code == "CSTM-00") & kind.is_in(list(BILLING_CODE_FORMATS)) | expr).fill_null(False)


def date_ok(name: str) -> pl.Expr:
    col = pl.col(name)
    return (col.str.contains(_ISO_DATE) & col.str.to_date("%Y-%m-%d", strict=False).is_not_null()).fill_null(False)


def rate_plausible() -> pl.Expr:
    rate, kind = pl.col("negotiated_rate"), pl.col("negotiated_type")
    cap = pl.col("billing_code_type").replace_strict(MAX_DOLLARS, default=DEFAULT_MAX_DOLLARS, return_dtype=pl.Float64)
    return pl.when(kind == "percentage").then(rate <= 100).otherwise(rate <= cap).fill_null(False)


def service_codes_ok() -> pl.Expr:
    """Every code a CMS place of service, or CSTM-00 alone; absent is fine (completeness counts it)."""
    codes = pl.col("service_code")
    listed = codes.list.eval(pl.element().is_in(POS_CODES)).list.all()
    cstm_alone = ~codes.list.contains("CSTM-00") | (codes.list.len() == 1)
    return (codes.is_null() | (listed & cstm_alone)).fill_null(False)


def expiration_not_before_update() -> pl.Expr:
    expires = pl.col("expiration_date").str.to_date("%Y-%m-%d", strict=False)
    updated = pl.col("last_updated_on").str.to_date("%Y-%m-%d", strict=False)
    return (expires.is_null() | updated.is_null() | (expires >= updated)).fill_null(True)


def rule_expressions() -> dict[str, pl.Expr]:
    setting = pl.col("setting")
    return {
        "npi_check_digit": pl.col("npi_ok").fill_null(False),
        "tin_format": pl.col("tin_ok").fill_null(False),
        "billing_code_format": billing_code_ok(),
        "rate_positive": (pl.col("negotiated_rate") > 0).fill_null(False),
        "rate_plausible": rate_plausible(),
        "expiration_date_valid": date_ok("expiration_date"),
        "last_updated_on_valid": date_ok("last_updated_on"),
        "expiration_not_before_update": expiration_not_before_update(),
        "negotiation_arrangement_enum": pl.col("negotiation_arrangement").is_in(NEGOTIATION_ARRANGEMENTS).fill_null(False),
        "negotiated_type_enum": pl.col("negotiated_type").is_in(NEGOTIATED_TYPES).fill_null(False),
        "billing_class_enum": pl.col("billing_class").is_in(BILLING_CLASSES).fill_null(False),
        "setting_enum": (setting.is_null() | setting.is_in(SETTINGS)).fill_null(False),
        "service_code_valid": service_codes_ok(),
    }


RULES = tuple(rule_expressions())
RULE_COLUMNS = ("provider_group_uuid", "organization_uuid", "billing_code", "billing_code_type", "negotiated_rate",
                "expiration_date", "last_updated_on", "negotiation_arrangement", "negotiated_type",
                "billing_class", "setting", "service_code")
