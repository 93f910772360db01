"""Seen keys: what a partition has written, as 64-bit keys that scale to millions and stay exact."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest

from mrf_assets.tic.ids import stable_uuid
from mrf_assets.tic.seen import SeenIds, SeenKeys, id_keys, listing_key, listing_keys, take_unseen


def test_seen_keys_stay_few_levels_and_exact():
    seen = SeenKeys()
    rng = np.random.default_rng(1)
    added = []
    for _ in range(300):
        keys = rng.integers(0, 2**63, 1000, dtype=np.uint64)
        seen.add(keys)
        added.append(keys)
    everything = np.concatenate(added)
    assert len(seen.levels) <= 12
    assert seen.contains(everything).all()
    assert not seen.contains(rng.integers(0, 2**63, 1000, dtype=np.uint64)).any()


def test_seen_ids_one_at_a_time_and_in_bulk_agree(monkeypatch):
    """The reference rules add ids one by one, the fast path as key arrays: each finds what the other
    added, before and after the waiting ids move into the key levels, and across files."""
    monkeypatch.setattr(SeenIds, "BATCH", 4)
    made = [uuid.uuid4().bytes for _ in range(40)]
    column = pa.array(made, pa.binary())
    assert id_keys(column).tolist() == [int.from_bytes(u[:8], "little") for u in made]
    assert id_keys(pa.chunked_array([column.slice(0, 7), column.slice(7)])).tolist() == id_keys(column).tolist()
    assert id_keys(column.slice(5, 3).cast(pa.binary(16))).tolist() == id_keys(column)[5:8].tolist()
    seen, new = SeenIds(), SeenIds()
    for u in made[:10]:
        seen.add(u)
    seen.key_set().add(id_keys(column.slice(10, 10)))
    assert all(u in seen for u in made[:20]) and not any(u in seen for u in made[20:])
    assert seen.key_set().contains(id_keys(column)).tolist() == [True] * 20 + [False] * 20
    for u in made[20:23]:  # fewer than BATCH: they wait in the set
        new.add(u)
    new.key_set().add(id_keys(column.slice(30, 5)))
    seen.update(new)
    assert seen.key_set().contains(id_keys(column)).tolist() == [True] * 23 + [False] * 7 + [True] * 5 + [False] * 5
    assert made[21] in seen and made[25] not in seen


def test_take_unseen_finds_and_adds_only_new_keys():
    """One sort serves both lookups and the addition; the answer is in the keys' own order."""
    seen, new = SeenKeys(), SeenKeys()
    seen.add(np.array([5, 50], dtype=np.uint64))
    new.add(np.array([7], dtype=np.uint64))
    keys = np.array([9, 50, 1, 7, 5, 3], dtype=np.uint64)
    assert take_unseen(keys, seen, new).tolist() == [True, False, True, False, False, True]
    assert new.contains(np.array([1, 3, 9, 50], dtype=np.uint64)).tolist() == [True, True, True, False]
    assert not take_unseen(keys, seen, new).any()
    assert all(np.all(np.diff(level.astype(np.int64)) > 0) for level in new.levels)  # levels stay sorted


NAMES = [None, "", " ", "Acme", "acme", "Clínica Ñandú", "x" * 7, "x" * 8, "x" * 9, "a long business name " * 5]


@pytest.mark.parametrize("rows", [len(NAMES), 200])  # hashed in Python (a few values) and vectorized
def test_listing_keys_of_a_column_are_each_rows_listing_key(rows):
    """The fast path keys a batch's (organization, name) listings column-wise; the reference rules key
    them one at a time. The two share a partition's seen organizations, so the keys must agree."""
    orgs = [stable_uuid("org", "ein", str(i % 13)) for i in range(rows)]
    names = [NAMES[i % len(NAMES)] for i in range(rows)]
    column = listing_keys(pa.array(orgs, pa.binary(16)), pa.chunked_array([pa.array(names, pa.string())]))
    # SeenIds keys an id by its first 8 bytes, little-endian
    one_by_one = np.array([int.from_bytes(listing_key(o, n), "little") for o, n in zip(orgs, names)], dtype=np.uint64)
    assert column.dtype == np.uint64 and (column == one_by_one).all()


def test_a_listing_key_tells_each_organization_and_name_apart():
    """A null name, a blank one and every other name of every organization: distinct keys, or a name
    would silently go unwritten."""
    orgs = [stable_uuid("org", "ein", str(i)) for i in range(50)]
    keys = {listing_key(o, n) for o in orgs for n in NAMES}
    assert len(keys) == len(orgs) * len(NAMES)
