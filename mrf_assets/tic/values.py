"""How a payer's JSON values become the lake's: text, provider group ids as their exact token text,
TINs, numbers, NPIs, service codes, and a rejected record's JSON."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

_EIN = re.compile(r"^\d{2}-?\d{7}$")


def text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def id_text(value) -> str | None:
    """A provider_group_id as its exact token text: Decimal('690.64500') stays '690.64500'."""
    if value is None or isinstance(value, bool):
        return None
    return str(value) if isinstance(value, (int, Decimal, str)) else repr(value)


def normalize_tin(tin_type: str | None, value) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    raw = raw.strip()
    if tin_type == "ein" and _EIN.match(raw):
        return raw.replace("-", "")
    return raw


def number(value) -> float | None:
    """A JSON number, or a string holding one (defensive: seen only in synthetic files so far)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond a double: infinite, as a decimal that big becomes
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


INT64 = range(-(1 << 63), 1 << 63)


def coerce_npi(value) -> int | None:
    """An NPI as an integer; None when it is not one, or not one a 64-bit column holds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        npi = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        npi = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        npi = int(value.strip())
    else:
        return None
    return npi if npi in INT64 else None


def record_json(record, limit: int = 2000) -> str:
    out = json.dumps(record, default=str, separators=(",", ":"))
    return out if len(out) <= limit else out[:limit] + "...(truncated)"


def place_of_service(value) -> list[str] | None:
    """Service codes with the zero-padding payers drop ("1" -> "01"), so they compare with the CMS list."""
    codes = text_list(value)
    return None if codes is None else [c.strip().zfill(2) if c.strip().isdigit() else c.strip() for c in codes]


def text_list(value) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        value = [value]
    return [text(v) for v in value if v is not None]
