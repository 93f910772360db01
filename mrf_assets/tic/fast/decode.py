"""Decode a batch of in-network items (their exact JSON bytes) straight into Arrow, with an explicit
schema, by pyarrow's multi-threaded JSON reader: no Python object per value."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj

_s = pa.string()
_TIN = pa.struct([("type", _s), ("value", _s), ("business_name", _s)])
GROUP = pa.struct([("npi", pa.list_(pa.int64())), ("tin", _TIN)])
_PRICE = pa.struct([
    ("negotiated_type", _s), ("negotiated_rate", pa.float64()), ("expiration_date", _s), ("billing_class", _s),
    ("setting", _s), ("service_code", pa.list_(_s)), ("billing_code_modifier", pa.list_(_s)),
    ("additional_information", _s),
])
_RATE = pa.struct([
    # integer ids only: a decimal id (690.64500) must keep its text, which Arrow cannot, so such a
    # batch fails to decode here and goes to the reference path
    ("provider_references", pa.list_(pa.int64())), ("provider_groups", pa.list_(GROUP)),
    ("negotiated_prices", pa.list_(_PRICE)),
])
ITEM_SCHEMA = pa.schema([
    ("negotiation_arrangement", _s), ("name", _s), ("billing_code_type", _s), ("billing_code_type_version", _s),
    ("billing_code", _s), ("description", _s), ("severity_of_illness", _s), ("negotiated_rates", pa.list_(_RATE)),
])
# Raw newlines cannot occur inside JSON strings, so they are only whitespace: one item per line.
_ONE_LINE = bytes.maketrans(b"\n\r", b"  ")
MIN_BLOCK = 8 << 20


def decode_lines(blobs: list[bytes], schema: pa.Schema) -> pa.Table:
    """One row per JSON object; raises pyarrow.ArrowInvalid when a value does not fit the schema."""
    # translate() holds the GIL for a copy of every object; only pretty-printed ones need it
    data = b"\n".join(blob.translate(_ONE_LINE) if b"\n" in blob or b"\r" in blob else blob for blob in blobs)
    block = max(MIN_BLOCK, max(len(b) for b in blobs) + 1)
    return pj.read_json(
        pa.BufferReader(data),  # read in place: a BytesIO would be copied block by block
        read_options=pj.ReadOptions(block_size=block, use_threads=True),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )


def decode_items(blobs: list[bytes]) -> pa.Table:
    return decode_lines(blobs, ITEM_SCHEMA)
