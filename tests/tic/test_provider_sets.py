"""Provider sets: content ids, each set written once per partition."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa

from mrf_assets.tic import row_ids
from mrf_assets.tic.provider_sets import MEMBER_COLUMNS, ProviderSets
from mrf_assets.tic.seen import SeenKeys
from mrf_assets.tic.tables import PROVIDER_SETS


def members(*rows: tuple) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(MEMBER_COLUMNS, r)) for r in rows], schema=PROVIDER_SETS.remove(0))


def add(sets: ProviderSets, table: pa.Table, starts: list[int]) -> pa.Array:
    """Sets' ids as a parser asks for them: member states first, member columns only for new sets."""
    states = row_ids.member_states(table["provider_group_uuid"], table["provider_group_id"])
    return sets.add(np.array(starts), states, table.take)


def ident(short: str) -> bytes:
    return short.encode().ljust(16, b"_")  # a readable 16-byte group or organization id


A, B, C = ("1", ident("ga"), ident("oa")), ("2", ident("gb"), ident("ob")), (None, ident("gc"), ident("oc"))


def test_set_ids_follow_content_and_order_not_batching():
    together = add(ProviderSets(SeenKeys()), members(A, B, B, A, C), [0, 2, 4]).to_pylist()
    alone = [add(ProviderSets(SeenKeys()), members(*m), [0]).to_pylist()[0] for m in ((A, B), (B, A), (C,))]
    assert together == alone
    assert len(set(together)) == 3  # [a, b] and [b, a] are different sets
    # the same groups under another reference id are another set (provider_group_id is kept per member)
    other = add(ProviderSets(SeenKeys()), members(("9", ident("ga"), ident("oa")), B), [0]).to_pylist()
    assert other[0] != together[0]


def test_each_set_is_written_once_across_batches_and_files():
    seen = SeenKeys()
    first = ProviderSets(seen)
    add(first, members(A, B, A, B, C), [0, 2, 4])  # [a, b] twice in one batch
    add(first, members(C), [0])  # [c] again in a later batch
    written = pa.concat_tables(first.take())
    assert written.num_rows == 3 and first.take() == []
    seen.update(first.new)  # the file succeeded
    second = ProviderSets(seen)
    add(second, members(A, B, B), [0, 2])
    [new] = second.take()
    assert new.column("provider_group_uuid").to_pylist() == [uuid.UUID(bytes=ident("gb"))]  # only [b] is new to the partition
    assert uuid.UUID(bytes=second.one((A, B))) in written.column("provider_set_uuid").to_pylist()


def test_set_ids_are_stable_values():
    """Ids are stored in the lake: they must not change with numpy, pyarrow or Python versions."""
    [got] = add(ProviderSets(SeenKeys()), members(A, B), [0]).to_pylist()
    assert str(got) == "4042e7e1-67f0-86c7-a044-5d76ec8215fd"


def test_one_set_at_a_time_gives_the_vectorized_id():
    """The reference parser computes set ids one by one in plain Python; they must equal the batch ids."""
    sets = [(A, B), (C,), (B, A, C), (("7", ident("gx"), ident("ox")),)]
    batch = add(ProviderSets(SeenKeys()), members(*[m for s in sets for m in s]),
                np.cumsum([0] + [len(s) for s in sets[:-1]]))
    one = ProviderSets(SeenKeys())
    assert [uuid.UUID(bytes=one.one(s)) for s in sets] == batch.to_pylist()
    rows = pa.concat_tables(one.take())
    assert rows.num_rows == 7 and set(rows.column("provider_set_uuid").to_pylist()) == set(batch.to_pylist())
