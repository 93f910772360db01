"""Provider sets: content ids, each set written once per partition, and a numpy seen-set that scales."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa

from mrf_assets.tic.provider_sets import MEMBER_COLUMNS, ProviderSets, SeenKeys


def members(*rows: tuple) -> pa.Table:
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(MEMBER_COLUMNS)})


A, B, C = ("1", "ga", "oa"), ("2", "gb", "ob"), (None, "gc", "oc")


def test_set_ids_follow_content_and_order_not_batching():
    together = ProviderSets(SeenKeys()).add(members(A, B, B, A, C), np.array([0, 2, 4])).to_pylist()
    alone = [ProviderSets(SeenKeys()).add(members(*m), np.array([0])).to_pylist()[0] for m in ((A, B), (B, A), (C,))]
    assert together == alone
    assert len(set(together)) == 3  # [a, b] and [b, a] are different sets
    # the same groups under another reference id are another set (provider_group_id is kept per member)
    other = ProviderSets(SeenKeys()).add(members(("9", "ga", "oa"), B), np.array([0])).to_pylist()
    assert other[0] != together[0]


def test_each_set_is_written_once_across_batches_and_files():
    seen = SeenKeys()
    first = ProviderSets(seen)
    first.add(members(A, B, A, B, C), np.array([0, 2, 4]))  # [a, b] twice in one batch
    first.add(members(C), np.array([0]))                      # [c] again in a later batch
    written = pa.concat_tables(first.take())
    assert written.num_rows == 3 and first.take() == []
    seen.update(first.new)  # the file succeeded
    second = ProviderSets(seen)
    second.add(members(A, B, B), np.array([0, 2]))
    [new] = second.take()
    assert new.column("provider_group_uuid").to_pylist() == ["gb"]  # only [b] is new to the partition
    assert uuid.UUID(bytes=second.one((A, B))) in written.column("provider_set_uuid").to_pylist()


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


def test_set_ids_are_stable_values():
    """Ids are stored in the lake: they must not change with numpy, pyarrow or Python versions."""
    [got] = ProviderSets(SeenKeys()).add(members(A, B), np.array([0])).to_pylist()
    assert str(got) == "96bd29ed-c737-82eb-ba0d-c50ed26e1ea0"


def test_one_set_at_a_time_gives_the_vectorized_id():
    """The reference parser computes set ids one by one in plain Python; they must equal the batch ids."""
    sets = [(A, B), (C,), (B, A, C), (("7", "gx", "ox"),)]
    batch = ProviderSets(SeenKeys()).add(members(*[m for s in sets for m in s]),
                                         np.cumsum([0] + [len(s) for s in sets[:-1]]))
    one = ProviderSets(SeenKeys())
    assert [uuid.UUID(bytes=one.one(s)) for s in sets] == batch.to_pylist()
    rows = pa.concat_tables(one.take())
    assert rows.num_rows == 7 and set(rows.column("provider_set_uuid").to_pylist()) == set(batch.to_pylist())
