"""Provider sets: the provider groups one negotiated rate applies to, stored once per distinct set.

A price fans out to every provider group of its negotiated rate (often ten or more), and the same
reference lists recur across items, so `rates` keeps one row per price with a
`provider_set_uuid`, and `provider_sets` holds each distinct set's members once per partition. The set
id is a content hash of its members in order (row_ids.provider_set_uuids), so it is the same in every file,
parser and worker process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from mrf_assets.tic import row_ids
from mrf_assets.tic.seen import SeenKeys, take_unseen
from mrf_assets.tic.segments import ranges
from mrf_assets.tic.tables import PROVIDER_SETS, Columns

MEMBER_COLUMNS = ("provider_group_id", "provider_group_uuid", "organization_uuid")


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
        states (row_ids.member_states); `members(rows)` gives those rows' MEMBER_COLUMNS, asked only for
        the sets not written before, which are kept for `take`."""
        starts = np.asarray(starts, dtype=np.int64)
        uuids = row_ids.provider_set_uuids(states, starts)
        keys = row_ids.value_keys(uuids)
        _, first = np.unique(keys, return_index=True)
        with self._lock:  # batches are flattened on several threads
            fresh = first[take_unseen(keys[first], self.seen, self.new)]
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
            found = self._cache[members] = row_ids.provider_set_uuid([(g, i) for i, g, _ in members])
            key = np.array([int.from_bytes(found[:8], "big")], dtype=np.uint64)
            with self._lock:
                if take_unseen(key, self.seen, self.new)[0]:
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
