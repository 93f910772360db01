"""Decode a batch of in-network items (their exact JSON bytes) straight into Arrow, with an explicit
schema, by pyarrow's multi-threaded JSON reader: no Python object per value. What Arrow cannot decode is
read in Python as the reference path's parser reads it (`load_json`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from mrf_assets.tic.fast.runs import Piece, largest, lines
from mrf_assets.tic.sources import SourceError

_s = pa.string()
_TIN = pa.struct([("type", _s), ("value", _s), ("business_name", _s)])
GROUP = pa.struct([("npi", pa.list_(pa.int64())), ("tin", _TIN)])
_PRICE = pa.struct([
    ("negotiated_type", _s), ("negotiated_rate", pa.float64()), ("expiration_date", _s), ("billing_class", _s),
    ("setting", _s), ("service_code", pa.list_(_s)), ("billing_code_modifier", pa.list_(_s)),
    ("additional_information", _s),
])


def _item_schema(provider_id: pa.DataType) -> pa.Schema:
    rate = pa.struct([("provider_references", pa.list_(provider_id)), ("provider_groups", pa.list_(GROUP)),
                      ("negotiated_prices", pa.list_(_PRICE))])
    return pa.schema([
        ("negotiation_arrangement", _s), ("name", _s), ("billing_code_type", _s), ("billing_code_type_version", _s),
        ("billing_code", _s), ("description", _s), ("severity_of_illness", _s), ("negotiated_rates", pa.list_(rate)),
    ])


ITEM_SCHEMA = _item_schema(pa.int64())
# A decimal provider id (690.64500) must keep its text, which a number column cannot. Files that use
# them are decoded with their ids quoted in the bytes. Only a token whose text is already what the
# reference rules make of it (`id_text`: 690.64500, 12, not 1e5, -0 or 0.0000001) is quoted; any other
# number is left alone, fails to decode as text, and sends its batch to the reference path.
TEXT_ID_ITEM_SCHEMA = _item_schema(pa.string())
_ID = rb"-?[1-9][0-9]*(?:\.[0-9]+)?|-?0\.[0-9]{1,6}|0"
_ID_TOKEN = re.compile(rb"(?<![\w.+-])(?:" + _ID + rb")(?![\w.+-])")
_REFERENCE_LIST = re.compile(rb'("provider_references"\s*:\s*\[)([^\]"\[{]*)')  # the ids up to "]"
_EXACT_LISTS = re.compile(rb"(?:(?:" + _ID + rb")(?:,(?:" + _ID + rb"))*\])*")  # "]"-terminated, no whitespace
_GROUP_ID = re.compile(rb'("provider_group_id"\s*:\s*)(' + _ID + rb')(?=\s*[,}])')
MIN_BLOCK = 8 << 20
_OTHER_COLUMN = re.compile(r"Column\((?!/negotiated_rates/\[\]/provider_references/)")  # Arrow names where it stopped


def quote_reference_ids(data: bytes) -> bytes:
    """The ids of every provider_references list as JSON strings."""
    # All the lists at once: a Python call per list would cost more than decoding them.
    parts = _REFERENCE_LIST.split(data)  # text, key, ids, text, key, ids, ..., text
    if len(parts) == 1:
        return data
    joined = b"]".join(parts[2::3])
    lists = joined.translate(None, b" \t\r\n") + b"]"
    if _EXACT_LISTS.fullmatch(lists):  # the usual case: a check and two replaces, 4x cheaper than a substitution per id
        quoted = b'"' + lists[:-1].replace(b",", b'","').replace(b"]", b'"]"') + b'"'
    else:
        quoted = _ID_TOKEN.sub(rb'"\g<0>"', joined)
    parts[2::3] = quoted.split(b"]")
    return b"".join(parts)


def quote_group_ids(data: bytes) -> bytes:
    """Every provider_group_id as a JSON string."""
    return _GROUP_ID.sub(rb'\1"\2"', data)


def decode_lines(pieces: list[Piece], schema: pa.Schema, rewrite: Callable[[bytes], bytes] | None = None) -> pa.Table:
    """One row per JSON object of the pieces (runs.py); raises pyarrow.ArrowInvalid when a value does not
    fit the schema."""
    data = lines(pieces)
    check_utf8(data)
    data = rewrite(data) if rewrite else data
    block = max(MIN_BLOCK, max(largest(piece) for piece in pieces) + 1)
    return pj.read_json(
        pa.BufferReader(data),  # read in place: a BytesIO would be copied block by block
        # One block, decoded on the calling flatten thread (the GIL is released): handing it to Arrow's
        # pool only added a hand-over (refs_500M_lists1000, 6 alternating rounds: 1.045x, 6 of 6 faster).
        read_options=pj.ReadOptions(block_size=block, use_threads=False),
        # Pretty-printed objects span lines; a block boundary then falls where Arrow's parser says an
        # object ends, not at any newline.
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                                      newlines_in_values=True),
    )


def check_utf8(data: bytes | bytearray) -> None:
    """Raises UnicodeDecodeError where the bytes are not UTF-8: Arrow takes invalid UTF-8 into its strings,
    and the reference path rejects it."""
    if data.isascii():
        return
    # Arrow validates without the GIL or a str of the whole batch (Python's decoder took 3.6 ms of GIL
    # time per 6 MB batch, much of it touching the new str's memory).
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        data.decode("utf-8")  # the error, naming the first bad byte


class IdDecoder:
    """Decodes a file's batches with integer provider ids until one needs them as text (decimal ids),
    then with text ids for the rest of the file, without a failed integer decode first."""

    def __init__(self, numbers: pa.Schema, text: pa.Schema, quote: Callable[[bytes], bytes]):
        self.numbers, self.text, self.quote = numbers, text, quote
        self.text_ids = False

    def decode(self, pieces: list[Piece]) -> pa.Table:
        if not self.text_ids:
            try:
                return decode_lines(pieces, self.numbers)
            except pa.ArrowInvalid as exc:  # decimal ids, or a value the text ids cannot take either
                if _OTHER_COLUMN.search(str(exc)):
                    raise  # not an id: quoting the ids would only fail again, after a pass over the batch
        table = decode_lines(pieces, self.text, self.quote)
        self.text_ids = True
        return table


def item_decoder() -> IdDecoder:
    return IdDecoder(ITEM_SCHEMA, TEXT_ID_ITEM_SCHEMA, quote_reference_ids)


def load_json(data: bytes | bytearray):
    """One JSON value in Python, where Arrow cannot decode it, read as the reference path's parser (yajl)
    reads it: decimals as Decimal, NaN and Infinity (which Python's json takes) an error, and a lone
    surrogate escape (which Python keeps and no UTF-8 writer takes) as "?"."""
    value = json.loads(data, parse_float=Decimal, parse_constant=_not_json)
    return _without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(data) else value


_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


def _not_json(name: str):
    raise SourceError(f"invalid JSON: {name} is not a JSON value")


def _without_lone_surrogates(value):
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value
