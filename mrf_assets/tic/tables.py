"""Arrow schemas of the lake's tables (DESIGN.md section 4). Identifiers from payers stay strings."""

from __future__ import annotations

import pyarrow as pa

_str = pa.string()
_strs = pa.list_(pa.string())

RATES = pa.schema([
    ("rate_uuid", pa.uuid()), ("payer", _str), ("month", _str), ("file_id", _str),
    ("billing_code", _str), ("billing_code_type", _str), ("billing_code_type_version", _str),
    ("negotiation_arrangement", _str), ("name", _str), ("description", _str),
    ("severity_of_illness", _str),
    ("negotiated_type", _str), ("negotiated_rate", pa.float64()), ("expiration_date", _str),
    ("billing_class", _str), ("setting", _str), ("service_code", _strs),
    ("billing_code_modifier", _strs), ("additional_information", _str),
    ("provider_set_uuid", pa.uuid()), ("last_updated_on", _str), ("schema_version", _str),
])

# The provider groups a price applies to, stored once per distinct set instead of once per price: each
# price fans out to ~10-20 groups, so `rates` at the full grain would hold ten times the rows of the
# input's prices. `rates` joined to `provider_sets` (views.denormalized_rates) is that full grain.
PROVIDER_SETS = pa.schema([
    ("provider_set_uuid", pa.uuid()), ("provider_group_id", _str), ("provider_group_uuid", _str),
    ("organization_uuid", _str),
])

ORGANIZATIONS = pa.schema([
    ("organization_uuid", _str), ("tin_type", _str), ("tin_value", _str), ("business_name", _str),
])

PROVIDERS = pa.schema([
    ("provider_group_uuid", _str), ("npi", pa.int64()), ("organization_uuid", _str),
    ("network_name", _strs),
])

REJECTS = pa.schema([
    ("payer", _str), ("month", _str), ("file_id", _str), ("position", _str), ("level", _str),
    ("reason", _str), ("rows", pa.int64()), ("record", _str),
])

FILE_STATS = pa.schema([
    ("payer", _str), ("month", _str), ("file_id", _str), ("url", _str), ("status", _str),
    ("error", _str), ("container", _str), ("bytes", pa.int64()), ("json_bytes", pa.int64()),
    ("items", pa.int64()), ("items_rejected", pa.int64()), ("prices", pa.int64()),
    ("expected_rows", pa.int64()), ("rows", pa.int64()), ("rows_rejected", pa.int64()),
    ("rows_filtered", pa.int64()), ("provider_groups", pa.int64()),
    ("remote_references", pa.int64()), ("remote_references_failed", pa.int64()),
    ("seconds", pa.float64()), ("mb_per_s", pa.float64()), ("schema_version", _str),
    ("last_updated_on", _str), ("parser", _str), ("items_fallback", pa.int64()), ("items_giant", pa.int64()),
    ("passes", pa.int64()), ("fallback_reason", _str),
])

TABLES = {
    "rates": RATES, "provider_sets": PROVIDER_SETS, "organizations": ORGANIZATIONS, "providers": PROVIDERS,
    "rejects": REJECTS, "file_stats": FILE_STATS,
}
