"""What a partition has already written, as 64-bit keys: provider sets (their key is a hash of the
set id) and provider groups and organizations (SeenIds). A payer's month can name millions of each, and
the files of a partition must write each once; sorted numpy levels take 8 bytes a key where a Python set
takes ~100, and test a batch of keys at once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mrf_assets.tic.hashing import mix, splitmix, text_hash, text_lanes

_NO_NAME = 0x6A09E667F3BCC909  # stands for a null business name, apart from "" (a text hashes to it 1 in 2**64)


class SeenKeys:
    """A growing set of 64-bit keys in sorted numpy levels (a Python set of millions of ids takes GBs).
    Levels merge when one is at least half the size of the one before, so adding stays amortized."""

    def __init__(self):
        self.levels: list[np.ndarray] = []

    def contains(self, keys: np.ndarray) -> np.ndarray:
        order = np.argsort(keys)  # sorted needles make searchsorted walk each level once
        out = np.empty(len(keys), dtype=bool)
        out[order] = self.contains_sorted(keys[order])
        return out

    def contains_sorted(self, needles: np.ndarray) -> np.ndarray:
        found = np.zeros(len(needles), dtype=bool)
        for level in self.levels:
            at = np.minimum(np.searchsorted(level, needles), len(level) - 1)
            found |= level[at] == needles
        return found

    def add(self, keys: np.ndarray) -> None:
        if len(keys):
            self._push(np.unique(np.asarray(keys, dtype=np.uint64)))

    def add_sorted(self, keys: np.ndarray) -> None:
        """Keys already sorted and distinct (skips add's sort)."""
        if len(keys):
            self._push(keys)

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
    """16-byte ids (provider groups, organizations) that a partition's files have written (or, as a
    Normalizer's `new_*`, that the file being read has), as 64-bit keys in a SeenKeys. Ids added one
    at a time (the reference rules) wait in a small set until there are enough to add at once. The key
    is an id's first 8 bytes: the ids are hashes already."""

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

    def key_set(self) -> SeenKeys:
        """All the ids as keys (`id_keys`), those added one at a time included."""
        self._flush()
        return self.keys

    def update(self, other: "SeenIds") -> None:
        """Take the ids of a file that succeeded (none of them were here)."""
        other._flush()
        self._flush()
        self.keys.update(other.keys)

    def _flush(self) -> None:
        if self._waiting:
            self.keys.add(np.array([_key(uuid) for uuid in self._waiting], dtype=np.uint64))
            self._waiting.clear()


def take_unseen(keys: np.ndarray, seen: SeenKeys, new: SeenKeys) -> np.ndarray:
    """Which of `keys` (distinct) neither `seen` nor `new` holds; they are added to `new`. One sort
    serves both lookups and the addition (a batch of references has ~10,000 new ids)."""
    order = np.argsort(keys)
    needles = keys[order]
    fresh = ~(seen.contains_sorted(needles) | new.contains_sorted(needles))
    new.add_sorted(needles[fresh])
    out = np.empty(len(keys), dtype=bool)
    out[order] = fresh
    return out


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


def listing_key(org_uuid: bytes, name: str | None) -> bytes:
    """The SeenIds key of an organization listed under a business name (each pair is written once):
    an 8-byte id, never stored, so it needs no uuid5 (a reference-heavy batch lists ~40,000 TINs)."""
    named = _NO_NAME if name is None else text_hash(name)[0]
    return mix(_key(org_uuid) ^ mix(named)).to_bytes(8, "little")


def listing_keys(org_uuids: pa.Array | pa.ChunkedArray, names: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """listing_key of each row, as SeenIds keys (uint64), for whole columns."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    named = text_lanes(names)[0]
    if names.null_count:
        named[names.is_null().to_numpy(zero_copy_only=False)] = np.uint64(_NO_NAME)
    with np.errstate(over="ignore"):
        return splitmix(id_keys(org_uuids) ^ splitmix(named))
