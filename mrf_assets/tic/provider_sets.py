"""Provider sets: the provider groups one negotiated rate applies to, stored once per distinct set.

A price fans out to every provider group of its negotiated rate (often ten or more), and the same
reference lists recur across items, so `rates` keeps one row per price with a
`provider_set_uuid`, and `provider_sets` holds each distinct set's members once per partition. The set
id is a content hash of its members in order (ids.provider_set_uuids), so it is the same in every file,
parser and worker process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from mrf_assets.tic import ids
from mrf_assets.tic.segments import ranges
from mrf_assets.tic.tables import PROVIDER_SETS, Columns

MEMBER_COLUMNS = ("provider_group_id", "provider_group_uuid", "organization_uuid")


class SeenKeys:
    """A growing set of 64-bit keys in sorted numpy levels (a Python set of millions of ids takes GBs).
    Levels merge when one is at least half the size of the one before, so adding stays amortized."""

    def __init__(self):
        self.levels: list[np.ndarray] = []

    def contains(self, keys: np.ndarray) -> np.ndarray:
        order = np.argsort(keys)  # sorted needles make searchsorted walk each level once
        needles = keys[order]
        found = np.zeros(len(keys), dtype=bool)
        for level in self.levels:
            at = np.minimum(np.searchsorted(level, needles), len(level) - 1)
            found |= level[at] == needles
        out = np.empty_like(found)
        out[order] = found
        return out

    def add(self, keys: np.ndarray) -> None:
        if len(keys):
            self._push(np.unique(np.asarray(keys, dtype=np.uint64)))

    def _push(self, level: np.ndarray) -> None:
        """Add a sorted array of distinct keys (callers add only keys `contains` did not find, so levels
        are disjoint: a merge needs no de-duplication, which would copy the merged level again)."""
        self.levels.append(level)
        while len(self.levels) > 1 and len(self.levels[-1]) * 2 >= len(self.levels[-2]):
            last = self.levels.pop()
            merged = np.concatenate([self.levels[-1], last])
            self.levels[-1] = last = None  # freed before the sort's buffer is taken
            merged.sort(kind="stable")  # two sorted runs: timsort merges them in place in linear time
            self.levels[-1] = merged

    def update(self, other: "SeenKeys") -> None:
        for level in other.levels:  # already sorted and distinct
            self._push(level)


class SeenIds:
    """16-byte ids (provider groups, organizations) a partition has written, as 64-bit keys in a SeenKeys:
    8 bytes an id where a Python set of bytes takes ~100, and a payer's month can name millions of
    groups. Ids added one at a time (the reference rules) wait in a small set until there are enough
    to add at once. The key is an id's first 8 bytes: the ids are hashes already."""

    BATCH = 1 << 14

    def __init__(self):
        self.keys = SeenKeys()
        self._waiting: set[bytes] = set()

    def __contains__(self, uuid: bytes) -> bool:
        if uuid in self._waiting:
            return True
        return bool(self.keys.levels) and bool(self.keys.contains(np.array([_key(uuid)], dtype=np.uint64))[0])

    def add(self, uuid: bytes) -> None:
        """An id `in` did not find."""
        self._waiting.add(uuid)
        if len(self._waiting) >= self.BATCH:
            self._flush()

    def contains(self, keys: np.ndarray) -> np.ndarray:
        self._flush()
        return self.keys.contains(keys)

    def add_keys(self, keys: np.ndarray) -> None:
        """Keys (`id_keys`) that `contains` did not find."""
        self._flush()
        self.keys.add(keys)

    def update(self, other: "SeenIds") -> None:
        """Take the ids of a file that succeeded (none of them were here)."""
        other._flush()
        self._flush()
        self.keys.update(other.keys)

    def _flush(self) -> None:
        if self._waiting:
            self.keys.add(np.array([_key(uuid) for uuid in self._waiting], dtype=np.uint64))
            self._waiting.clear()


def id_keys(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """SeenIds keys of a column of 16-byte ids (binary or uuid), without a Python object per id."""
    fixed = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if isinstance(fixed.type, pa.ExtensionType):
        fixed = fixed.storage
    fixed = fixed.cast(pa.binary(16))
    lanes = np.frombuffer(fixed.buffers()[1], dtype="<u8")
    return lanes[2 * fixed.offset:2 * (fixed.offset + len(fixed))][0::2].astype(np.uint64)


def _key(uuid: bytes) -> int:
    return int.from_bytes(uuid[:8], "little")


class ProviderSets:
    """The provider sets of one file. `seen` is shared by the files of a partition; the caller merges
    `new` into it when the file succeeds (a failed file's parts, and so its sets, are discarded)."""

    def __init__(self, seen: SeenKeys):
        self.seen, self.new = seen, SeenKeys()
        self.tables: list[pa.Table] = []
        self._cache: dict[tuple, bytes] = {}
        self._rows = Columns(PROVIDER_SETS)  # sets found one at a time
        self._lock = threading.Lock()

    def add(self, starts: np.ndarray, states: np.ndarray, members: Callable[[np.ndarray], pa.Table]) -> pa.Array:
        """Ids of the sets whose members run from each of `starts` to the next, given the members' hash
        states (ids.member_states); `members(rows)` gives those rows' MEMBER_COLUMNS, asked only for
        the sets not written before, which are kept for `take`."""
        starts = np.asarray(starts, dtype=np.int64)
        uuids = ids.provider_set_uuids(states, starts)
        keys = ids.value_keys(uuids)
        _, first = np.unique(keys, return_index=True)
        with self._lock:  # batches are flattened on several threads
            fresh = first[~(self.seen.contains(keys[first]) | self.new.contains(keys[first]))]
            self.new.add(keys[fresh])
        if len(fresh):
            sizes = np.diff(np.append(starts, states.shape[1]))[fresh]
            table = members(ranges(starts[fresh], sizes)).select(MEMBER_COLUMNS)
            uuid_column = uuids.take(pa.array(np.repeat(fresh, sizes)))
            table = table.add_column(0, PROVIDER_SETS.field("provider_set_uuid"), uuid_column).cast(PROVIDER_SETS)
            with self._lock:
                self.tables.append(table)
        return uuids

    def one(self, members: tuple[tuple[str | None, str, str], ...]) -> bytes:
        """The id of one set given as (provider_group_id, provider_group_uuid, organization_uuid) tuples
        (the reference parser: one call per negotiated rate, in plain Python)."""
        found = self._cache.get(members)
        if found is None:
            if len(self._cache) >= 1 << 16:  # a cache, not a record: the seen-sets are the record
                self._cache.clear()
            found = self._cache[members] = ids.provider_set_uuid([(g, i) for i, g, _ in members])
            key = np.array([int.from_bytes(found[:8], "big")], dtype=np.uint64)
            with self._lock:
                fresh = not (self.seen.contains(key)[0] or self.new.contains(key)[0])
                if fresh:
                    self.new.add(key)
                    for group_id, group, org in members:
                        self._rows.append(provider_set_uuid=found, provider_group_id=group_id,
                                          provider_group_uuid=group, organization_uuid=org)
        return found

    def take(self) -> list[pa.Table]:
        with self._lock:
            tables, self.tables = self.tables, []
            if len(self._rows):
                tables.append(self._rows.take())
        return tables
