"""The provider groups a batch's negotiated rates fan out to, as arrays instead of rows of text.

A price applies to every group of its rate (through provider_references or inline provider_groups),
often ten or more, so the groups travel as integers: the rate, the member's row in a member pool (the
file's reference table, or the batch's inline groups) and the member's hash state. Their ids and
names are gathered only for provider sets not written before (provider_sets.ProviderSets.add).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from mrf_assets.tic.fast.new_records import NewRecords
from mrf_assets.tic.fast.references import ReferenceTable, member_pool, resolve, with_member_states
from mrf_assets.tic.normalize import Normalizer

FAILURES = {"rate_id": pl.UInt32, "failure": pl.String}


@dataclass
class Members:
    """The provider groups the batch's rates fan out to, as arrays: the rate (rate_id), the member's row in
    the batch's member pool (MEMBER_COLUMNS, gathered only for provider sets not seen before) and its
    hash state (row_ids.member_states)."""
    rate_id: np.ndarray
    row: np.ndarray
    states: np.ndarray

    @staticmethod
    def of(rate_id, row, states) -> "Members":
        return Members(np.asarray(rate_id, dtype=np.int64), np.asarray(row, dtype=np.int64),
                        np.asarray(states, dtype=np.uint64).reshape(2, -1))

    def of_rates(self, live: np.ndarray) -> "Members":
        """The members of the rates marked in `live` (a mask by rate_id), in the same order."""
        keep = live[self.rate_id]
        return self if keep.all() else Members(self.rate_id[keep], self.row[keep], self.states[:, keep])


RESOLVED = {"key": pl.String, "group_uuid": pl.Binary, "org_uuid": pl.Binary, "failure": pl.String}


class InlineGroups:
    """A file's inline provider groups resolved so far (key, group_uuid, org_uuid, failure, ref, h0, h1).
    Rates repeat the same groups batch after batch: each distinct group is resolved once per file, column-wise
    with the references' rules (references.resolve), not once per batch. A file of ever-new groups keeps
    this bounded: it starts over past MAX_BYTES (a group resolved again is not recorded again)."""

    MAX_BYTES = 64 << 20

    def __init__(self) -> None:
        self.known = _with_states(pl.DataFrame(schema=RESOLVED))
        self._lock = threading.Lock()

    def lookup(self, norm: Normalizer, distinct: pl.DataFrame) -> pl.DataFrame:
        """The resolved group of every row of `distinct` (key, npi, tin; one row per key), in any order."""
        with self._lock:  # a group new to both flatten threads is resolved by one, while the other waits
            known = self.known
            new = distinct.filter(~pl.col("key").is_in(known["key"].implode()))
            if new.height:
                # each new group as a reference of its own (the two sets of rules are the same, with no networks)
                rows, good = resolve(new.select(
                    pl.col("key").alias("provider_group_id"), pl.lit(None, pl.List(pl.String)).alias("network_name"),
                    pl.lit(None, pl.String).alias("location"),
                    pl.concat_list(pl.struct("npi", "tin")).alias("provider_groups")).to_arrow())
                fresh = _with_states(rows.select(pl.col("ref_key").alias("key"), "group_uuid", "org_uuid", "failure"))
                records = NewRecords.of(good)
                with norm.lock:
                    records.record(norm)
                self.known = fresh if known.estimated_size() > self.MAX_BYTES else pl.concat([known, fresh])
        hits = distinct.select("key").join(known, on="key", how="inner")
        return pl.concat([hits, fresh]) if new.height else hits


def _with_states(resolved: pl.DataFrame) -> pl.DataFrame:
    return with_member_states(resolved.with_columns(pl.lit(None, pl.String).alias("ref")), "ref")


def inline_targets(norm: Normalizer, rates: pl.DataFrame, inline_groups: InlineGroups
                   ) -> tuple[Members, pl.DataFrame, pa.Table]:
    """Members, failures (rate_id, failure) and the member pool of rates that list their groups inline."""
    if rates["provider_groups"].null_count() == rates.height:  # every rate names provider_references
        return Members.of([], [], []), pl.DataFrame(schema=FAILURES), member_pool(None)
    inline = rates.filter(pl.col("provider_groups").is_not_null())
    empty = inline.filter(pl.col("provider_groups").list.len() == 0).select(
        "rate_id", pl.lit("negotiated rate has an empty provider_groups list").alias("failure"))
    groups = (inline.filter(pl.col("provider_groups").list.len() > 0).select("rate_id", "provider_groups")
              .explode("provider_groups", empty_as_null=False).unnest("provider_groups"))
    if groups.height == 0:
        return Members.of([], [], []), empty.cast(FAILURES), member_pool(None)
    key = pl.concat_str([pl.col("tin").struct.field(f).fill_null("\x00") for f in ("type", "value", "business_name")]
                        + [pl.col("npi").list.eval(pl.element().cast(pl.String).fill_null("null")).list.join(",")
                           .fill_null("\x00")],  # [] and [null] are different groups
                       separator="\x1f")
    groups = groups.with_columns(key.alias("key"))
    lookup = inline_groups.lookup(norm, groups.unique("key", maintain_order=True))
    found = groups.select("rate_id", "key").join(lookup.with_row_index("row"), on="key", how="left",
                                                 maintain_order="left")
    ok = found["failure"].is_null().to_numpy()
    row = found["row"].to_numpy()[ok]
    members = Members.of(found["rate_id"].to_numpy()[ok], row,
                          np.stack([lookup["h0"].to_numpy(), lookup["h1"].to_numpy()])[:, row])
    failures = pl.concat([found.filter(~pl.Series(ok)).select("rate_id", "failure"), empty]).cast(FAILURES)
    return members, failures, member_pool(lookup.rename({"ref": "ref_key"}))


def reference_targets(rates: pl.DataFrame, references: ReferenceTable) -> tuple[Members, pl.DataFrame]:
    """Members (rows of references.members) and failures (rate_id, failure) of rates that name
    provider_references."""
    refd = rates.select("rate_id", "provider_references", "provider_groups")
    if refd["provider_groups"].null_count() < refd.height:  # filters copy the lists: only when needed
        refd = refd.filter(pl.col("provider_groups").is_null())
    has = refd.select(pl.col("provider_references").list.len().fill_null(0) > 0).to_series()
    neither = refd.filter(~has).select(
        "rate_id", pl.lit("negotiated rate has neither provider_groups nor provider_references").alias("failure"))
    if neither.height:
        refd = refd.filter(has)
    listed = refd.select("rate_id", "provider_references").explode("provider_references", empty_as_null=False)
    at, row = references.find(listed["provider_references"])
    rate_id = listed["rate_id"].to_numpy()[at]
    ok = row >= 0
    ok[ok] = ~references.failed[row[ok]]
    if ok.all():  # the usual case: nothing to drop or explain
        return Members.of(rate_id, row, np.take(references.states, row, axis=1)), neither.cast(FAILURES)
    members = Members.of(rate_id[ok], row[ok], references.states[:, row[ok]])
    bad = ~ok
    undefined = pl.concat_str(pl.lit("provider reference "), pl.col("key"), pl.lit(" is not defined in the file"))
    known = references.frame["failure"]  # why a defined reference's group failed
    failed = pl.DataFrame({"rate_id": rate_id[bad], "row": row[bad],
                           "key": listed["provider_references"].gather(at[bad]).cast(pl.String),
                           "failure": known.gather(np.maximum(row[bad], 0)) if len(known) else None},
                          schema_overrides={"failure": pl.String})
    failed = failed.select("rate_id", pl.when(pl.col("row") < 0).then(undefined).otherwise("failure").alias("failure"))
    return members, pl.concat([failed.cast(FAILURES), neither.cast(FAILURES)])


def targets(norm: Normalizer, rates: pl.DataFrame, references: ReferenceTable, inline_groups: InlineGroups
            ) -> tuple[Members, pl.DataFrame, pa.Table]:
    """Every rate's members, in file order within a rate, with the pool their rows point into, and the
    groups that failed to resolve."""
    inline, inline_failed, inline_pool = inline_targets(norm, rates, inline_groups)
    referenced, reference_failed = reference_targets(rates, references)
    failures = pl.concat([inline_failed, reference_failed])
    if len(inline.row) == 0:
        return referenced, failures, references.members
    if len(referenced.row) == 0:
        return inline, failures, inline_pool
    offset = references.members.num_rows  # a batch mixing both: one pool (rare)
    both = Members.of(np.concatenate([inline.rate_id, referenced.rate_id]),
                       np.concatenate([inline.row + offset, referenced.row]),
                       np.concatenate([inline.states, referenced.states], axis=1))
    order = np.argsort(both.rate_id, kind="stable")
    pool = pa.concat_tables([references.members, inline_pool])
    return Members.of(both.rate_id[order], both.row[order], both.states[:, order]), failures, pool
