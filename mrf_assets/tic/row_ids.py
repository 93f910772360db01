"""Row ids computed a batch at a time: rate_uuid and provider set ids, a stable 128-bit value per row.

A uuid5 per row (SHA-1 in Python) caps throughput near a million rows/s; a partition holds billions.
Instead each distinct field value is hashed once (hashing.text_lanes, vectorized over a column) and the
per-field hashes are folded left to right into two independent 64-bit lanes with vectorized splitmix64.
A left fold composes: the state after the item fields, carried to each price and then to each provider
group, gives the same id as folding every field of the finished row, so a parser may fold at whatever
grain is cheapest. Ids depend only on field values, never on library versions. Stored as Parquet's UUID
type (16 bytes).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mrf_assets.tic.hashing import MASK64, mix, splitmix, text_bytes, text_hash, text_lanes
from mrf_assets.tic.segments import ranges, run_sums

ITEM_ID_FIELDS = ("billing_code_type", "billing_code_type_version", "billing_code", "negotiation_arrangement",
                  "severity_of_illness")
PRICE_ID_FIELDS = ("negotiated_type", "negotiated_rate", "expiration_date", "billing_class", "setting",
                   "service_code", "billing_code_modifier", "additional_information")
# Fold order: file, then item, then price, then its provider set (a parser may stop at any of these grains).
RATE_ID_FIELDS = ("payer", "file_id", *ITEM_ID_FIELDS, *PRICE_ID_FIELDS, "provider_set_uuid")
_NULL = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)   # the hash of a null field (distinct from "")
_SEEDS = (0x243F6A8885A308D3, 0x13198A2E03707344)
_NULL_LANES = np.array(_NULL, dtype=np.uint64)[:, None]


_HASHES: dict[str, tuple[int, int]] = {}  # the reference parser hashes value by value, and values recur


def _string_hash(value: str) -> tuple[int, int]:
    """One value as _value_hashes hashes a string column."""
    found = _HASHES.get(value)
    if found is None:
        if len(_HASHES) >= 1 << 16:
            _HASHES.clear()
        found = _HASHES[value] = text_hash(value)
    return found


def _value_hashes(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """(2, n) uint64: the two lane hashes of every value of a string, float or list<string> column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.ExtensionArray):
        column = column.storage
    if pa.types.is_fixed_size_binary(column.type) and column.type.byte_width == 16:  # an id: already a hash
        lanes = np.frombuffer(column.buffers()[1], dtype=">u8", count=2 * (column.offset + len(column)))
        lanes = lanes.reshape(-1, 2)[column.offset:].astype(np.uint64).T.copy()
        return _nulls_hashed(lanes, column)
    if pa.types.is_floating(column.type):  # the bits of the double: no formatting involved
        bits = column.fill_null(float("nan")).to_numpy(zero_copy_only=False).view(np.uint64)
        return np.stack([splitmix(bits.copy()), splitmix(bits ^ np.uint64(_SEEDS[1]))])
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return _list_hashes(column)
    encoded = pc.dictionary_encode(column.cast(pa.string()))
    table = np.concatenate([text_lanes(encoded.dictionary), _NULL_LANES], axis=1)
    return np.take(table, encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False), axis=1)


def _nulls_hashed(lanes: np.ndarray, column: pa.Array) -> np.ndarray:
    """The lanes with the column's null rows set to the hash of null."""
    if column.null_count:
        lanes[:, column.is_null().to_numpy(zero_copy_only=False)] = _NULL_LANES
    return lanes


_SEPARATOR = "\x1e"


def _list_hashes(column: pa.ListArray | pa.LargeListArray) -> np.ndarray:
    """Lists hash from their elements (_element_list_hashes). They repeat (a handful of place-of-service
    combinations), so each distinct list is hashed once, found by its joined text: exact while no
    element is null or holds the separator, which is checked."""
    flat = column.flatten()
    if len(flat) == 0:  # every list empty or null, as many payers send them: nothing to join or look up
        lanes = np.repeat(_EMPTY_LIST, len(column), axis=1)
        return _nulls_hashed(lanes, column)
    if flat.null_count or (text_bytes(flat)[1] == ord(_SEPARATOR)).any():
        return _element_list_hashes(column)
    encoded = pc.dictionary_encode(pc.binary_join(column, pa.scalar(_SEPARATOR, column.type.value_type)))
    distinct = len(encoded.dictionary)
    table = np.concatenate([_element_list_hashes(pc.split_pattern(encoded.dictionary, _SEPARATOR)),
                            _EMPTY_LIST,
                            _NULL_LANES], axis=1)
    index = encoded.indices.fill_null(distinct + 1).to_numpy(zero_copy_only=False).copy()
    index[(pc.list_value_length(column).to_numpy(zero_copy_only=False) == 0)] = distinct  # [] joins to "" like [""]
    return np.take(table, index, axis=1)


def _element_list_hashes(column: pa.ListArray | pa.LargeListArray) -> np.ndarray:
    """Each list as the _sequence_hashes of its elements' hashes, so order counts and null, [] and [""]
    all differ."""
    lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    return _nulls_hashed(_sequence_hashes(_value_hashes(column.flatten()), lengths), column)


def _sequence_hashes(hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(2, runs): each run of (2, n) hashes, run k lengths[k] long, as one hash: every hash salted with its
    position in its run, the run summed and mixed with its length, so order counts while the sum stays
    vectorized."""
    lengths = np.asarray(lengths).astype(np.uint64)
    with np.errstate(over="ignore"):
        position = ranges(np.zeros(len(lengths)), lengths).astype(np.uint64)
        salted = splitmix(hashes ^ splitmix(position + np.uint64(1)))
        return splitmix(run_sums(salted, lengths) ^ lengths)


_EMPTY_LIST = _element_list_hashes(pa.array([[]], pa.list_(pa.string())))


def seed_state(n: int) -> np.ndarray:
    return np.array(_SEEDS, dtype=np.uint64)[:, None].repeat(n, axis=1)


def fold(state: np.ndarray, columns) -> np.ndarray:
    """Fold the columns' values, left to right, into the (2, n) lane state."""
    with np.errstate(over="ignore"):
        for column in columns:
            state = splitmix(state ^ _value_hashes(column))
    return state


def state_uuids(state: np.ndarray) -> pa.Array:
    raw = np.ascontiguousarray(state.T).astype(">u8").view(np.uint8).reshape(-1, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x80   # version 8: custom, hash-based
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80   # RFC 4122 variant
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(raw), [None, pa.py_buffer(raw.tobytes())])
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def uuid_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """16-byte values (binary, large_binary, fixed_size_binary or uuid) as a UUID array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.ExtensionArray):
        return column
    return pa.ExtensionArray.from_storage(pa.uuid(), column.cast(pa.binary(16)))


def member_states(group_uuids, group_ids) -> np.ndarray:
    """The (2, n) hash state of provider-set members (provider_group_uuid, provider_group_id)."""
    return fold(seed_state(len(group_uuids)), [uuid_array(group_uuids), group_ids])


def provider_set_uuids(members: np.ndarray, starts: np.ndarray) -> pa.Array:
    """The id of each provider set from its members' states (member_states), listed one set after
    another in file order; set k starts at column starts[k]. A set hashes as a list does
    (_sequence_hashes), so [a, b] and [b, a] differ."""
    return state_uuids(_sequence_hashes(members, np.diff(np.append(starts, members.shape[1]))))


def _scalar_hash(value: str | bytes | None) -> tuple[int, int]:
    """_value_hashes of one value: a 16-byte id is its own hash, as in a UUID column."""
    if value is None:
        return _NULL
    if isinstance(value, bytes):
        return int.from_bytes(value[:8], "big"), int.from_bytes(value[8:], "big")
    return _string_hash(value)


def provider_set_uuid(members: list[tuple[bytes | None, str | None]]) -> bytes:
    """provider_set_uuids for one set of (provider_group_uuid, provider_group_id) members, without
    numpy or Arrow per call (the reference parser asks for one set per negotiated rate)."""
    total = [0, 0]
    for position, fields in enumerate(members):
        salt = mix(position + 1)
        for lane in (0, 1):
            state = _SEEDS[lane]
            for value in fields:
                state = mix(state ^ _scalar_hash(value)[lane])
            total[lane] = (total[lane] + mix(state ^ salt)) & MASK64
    raw = bytearray(mix(total[0] ^ len(members)).to_bytes(8, "big") + mix(total[1] ^ len(members)).to_bytes(8, "big"))
    raw[6], raw[8] = (raw[6] & 0x0F) | 0x80, (raw[8] & 0x3F) | 0x80  # as state_uuids
    return bytes(raw)


def value_keys(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit key per value (the first hash lane): for membership tests over millions of ids."""
    return _value_hashes(column)[0]


def rate_uuids(table: pa.Table) -> pa.Array:
    """rate_uuid of every row of a rates table (all RATE_ID_FIELDS present)."""
    return state_uuids(fold(seed_state(table.num_rows), [table[name] for name in RATE_ID_FIELDS]))
