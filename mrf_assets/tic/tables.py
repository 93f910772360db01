"""Arrow schemas of the lake's tables (DESIGN.md section 4). Identifiers from payers stay strings."""

from __future__ import annotations

import pyarrow as pa

from mrf_assets.tic.row_ids import rate_uuids

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

# The provider groups a price applies to, stored once per distinct set instead of once per price: a
# price fans out to many groups, so `rates` at the full grain would repeat each price that many times. `rates` joined to `provider_sets` (views.denormalized_rates) is that full grain.
PROVIDER_SETS = pa.schema([
    ("provider_set_uuid", pa.uuid()), ("provider_group_id", _str), ("provider_group_uuid", pa.uuid()),
    ("organization_uuid", pa.uuid()),
])

ORGANIZATIONS = pa.schema([
    ("organization_uuid", pa.uuid()), ("tin_type", _str), ("tin_value", _str), ("business_name", _str),
])

PROVIDERS = pa.schema([
    ("provider_group_uuid", pa.uuid()), ("npi", pa.int64()), ("organization_uuid", pa.uuid()),
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


class Columns:
    """Column lists for one table, flushed to Arrow in batches. A `rate_uuid` column is computed at
    flush time, a whole batch at once (row_ids.rate_uuids)."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.computed = "rate_uuid" in schema.names
        self.cols: dict[str, list] = {name: [] for name in schema.names if name != "rate_uuid"}

    def __len__(self) -> int:
        return len(next(iter(self.cols.values())))

    def append(self, **row) -> None:
        for name, values in self.cols.items():
            values.append(row.get(name))

    def extend(self, varying: dict[str, list], **constant) -> None:
        """Several rows at once: `varying` columns give one value per row, `constant` ones repeat."""
        count = len(next(iter(varying.values())))
        for name, values in self.cols.items():
            values.extend(varying[name] if name in varying else [constant.get(name)] * count)

    def take(self) -> pa.Table:
        if not self.computed:
            table = pa.Table.from_pydict(self.cols, schema=self.schema)
        else:
            rest = pa.schema([f for f in self.schema if f.name != "rate_uuid"])
            table = pa.Table.from_pydict(self.cols, schema=rest)
            table = table.add_column(0, self.schema.field("rate_uuid"), rate_uuids(table)).select(self.schema.names)
        self.cols = {name: [] for name in self.cols}
        return table
