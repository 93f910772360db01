"""Flatten decoded items (Arrow) into `rates` rows, `provider_sets` and `rejects`, with exactly the
reference path's rules (normalize.Normalizer): the same rows, ids, reasons and counts, column-wise.

Provider groups are resolved through the Normalizer itself (once per distinct group), so organizations,
providers, remote references and the partition-wide dedup stay one piece of code.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from mrf_assets.tic import row_ids
from mrf_assets.tic.fast.prices import rates_and_prices, where
from mrf_assets.tic.fast.references import ReferenceTable
from mrf_assets.tic.fast.targets import InlineGroups, Members, targets
from mrf_assets.tic.normalize import Normalizer
from mrf_assets.tic.segments import run_starts
from mrf_assets.tic.tables import RATES, REJECTS

# The id fields at each grain are the rate_uuid fold's own lists, so the two cannot drift apart.
ITEM_FIELDS, PRICE_FIELDS = row_ids.ITEM_ID_FIELDS, row_ids.PRICE_ID_FIELDS


def _record(*columns: str) -> pl.Expr:
    """The rejected record as JSON text (truncated like the reference path's), so nothing is lost."""
    text = pl.struct(*columns).struct.json_encode()
    return pl.when(text.str.len_chars() > 2000).then(text.str.slice(0, 2000) + "...(truncated)").otherwise(text)


class _BatchOut:
    """What one batch adds to the file's counts and rejects, applied to the Normalizer under its lock
    when the batch is done (batches are flattened on several threads)."""

    def __init__(self, norm: Normalizer):
        self.ctx, self.counts, self.rejects = norm.ctx, Counter(), []

    def reject(self, frame: pl.DataFrame, level: str) -> None:
        """Reject rows from a frame of position, reason, rows and record."""
        if frame.height == 0:
            return
        ctx = self.ctx
        self.rejects.append(frame.select(
            pl.lit(ctx.payer).alias("payer"), pl.lit(ctx.month).alias("month"), pl.lit(ctx.file_id).alias("file_id"),
            "position", pl.lit(level).alias("level"), "reason", pl.col("rows").cast(pl.Int64), "record",
        ).to_arrow().cast(REJECTS))
        self.counts["rows_rejected"] += int(frame["rows"].sum())

    def apply(self, norm: Normalizer) -> None:
        with norm.lock:
            norm.counts.update(self.counts)
            norm.reject_tables.extend(self.rejects)


def _repeat(value: str | None, n: int) -> pa.Array:
    """A text column of one value (the file's payer, month, id...)."""
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _position(*parts: tuple[str, str]) -> pl.Expr:
    """in_network[i].negotiated_rates[r]...: where a record sits in the file."""
    pieces = []
    for i, (name, column) in enumerate(parts):
        pieces += [pl.lit(("." if i else "") + name + "["), pl.col(column).cast(pl.String), pl.lit("]")]
    return pl.concat_str(pieces)


def _good_items(items: pa.Table, first: int, batch: _BatchOut | None) -> np.ndarray:
    """The rows of the items that have what a rate needs; the others are rejected into `batch` (None: a
    giant item's later chunk, rejected with its first)."""
    blank = lambda name: pc.fill_null(pc.equal(items.column(name), ""), True)  # noqa: E731
    no_code, no_type = blank("billing_code"), blank("billing_code_type")
    no_rates = items.column("negotiated_rates").is_null()
    bad = pc.or_(pc.or_(no_code, no_type), no_rates).to_numpy(zero_copy_only=False)
    if not bad.any():  # the usual batch: no polars frame of the items at all
        return np.arange(items.num_rows)
    if batch is not None:
        rows = np.flatnonzero(bad)
        flags = pl.from_arrow(pa.table({"c": no_code, "t": no_type}).take(pa.array(rows))).with_columns(
            pl.Series("item", rows + first))
        reason = (pl.when(pl.col("c") & pl.col("t")).then(pl.lit("in-network item has no billing_code or billing_code_type"))
                  .when(pl.col("c")).then(pl.lit("in-network item has no billing_code"))
                  .when(pl.col("t")).then(pl.lit("in-network item has no billing_code_type"))
                  .otherwise(pl.lit("in-network item has no negotiated_rates list")))
        whole = pl.from_arrow(items.take(pa.array(rows)))
        batch.counts["items_rejected"] += len(rows)
        batch.reject(flags.select(
            _position(("in_network", "item")).alias("position"), reason.alias("reason"), pl.lit(0).alias("rows"),
        ).with_columns(whole.select(_record(*items.column_names)).to_series().alias("record")), "item")
    return np.flatnonzero(~bad)


def flatten(items: pa.Table, first: int, norm: Normalizer, references: ReferenceTable, inline_groups: InlineGroups,
            rate_offset: int = 0, new_items: bool = True) -> pa.Table:
    """Rates rows of a batch of decoded items whose first item is in_network[first]. A giant item comes
    in chunks of its rates: `rate_offset` numbers them on, and only its first chunk counts the item.
    Safe to call from several threads at once on the same Normalizer (and the file's InlineGroups)."""
    batch = _BatchOut(norm)
    try:
        return _flatten(items, first, norm, references, inline_groups, rate_offset, new_items, batch)
    finally:
        batch.apply(norm)


def _flatten(items: pa.Table, first: int, norm: Normalizer, references: ReferenceTable,
             inline_groups: InlineGroups, rate_offset: int, new_items: bool, batch: _BatchOut) -> pa.Table:
    ctx, counts = norm.ctx, batch.counts
    counts["items"] += items.num_rows if new_items else 0
    good_rows = _good_items(items, first, batch if new_items else None)
    good = items if len(good_rows) == items.num_rows else items.take(pa.array(good_rows))

    rates, prices = rates_and_prices(items, good_rows, first, rate_offset)
    if rates.height and rates["price_count"].fill_null(0).min() == 0:  # the usual batch has none: no filters
        no_prices = pl.col("price_count").fill_null(0) == 0
        listed = pl.when(pl.col("price_count").is_not_null()).then(pl.lit([], pl.List(pl.Int8)))  # null or []
        batch.reject(rates.filter(no_prices).with_columns(listed.alias("negotiated_prices")).select(
            _position(("in_network", "item"), ("negotiated_rates", "r")).alias("position"),
            pl.lit("negotiated rate has no negotiated_prices list").alias("reason"), pl.lit(0).alias("rows"),
            _record("provider_references", "provider_groups", "negotiated_prices").alias("record")), "rate")
        rates = rates.filter(~no_prices)
    members, failures, pool = targets(norm, rates, references, inline_groups)
    fanout = np.bincount(np.concatenate([members.rate_id, failures["rate_id"].to_numpy()]),
                         minlength=rates.height and int(rates["rate_id"].max()) + 1)

    targets_of = fanout[prices.keys["rate_id"]]
    counts["prices"] += len(targets_of)
    counts["expected_rows"] += int(targets_of.sum())
    position = _position(("in_network", "item"), ("negotiated_rates", "r"), ("negotiated_prices", "p"))
    broken = prices.null | prices.fields.column("negotiated_rate").is_null().to_numpy(zero_copy_only=False)
    if broken.any():
        bad = prices.take(np.flatnonzero(broken)).frame().with_columns(
            pl.Series("targets", targets_of[broken]), pl.Series("null", prices.null[broken]))
        reason = (pl.when(pl.col("null")).then(pl.lit("negotiated price is not an object"))
                  .otherwise(pl.lit("negotiated_rate is not a number: None")))
        batch.reject(bad.select(
            position.alias("position"), reason.alias("reason"), pl.col("targets").alias("rows"),
            _record(*PRICE_FIELDS).alias("record")), "price")
        prices = prices.take(np.flatnonzero(~broken))
    prices = prices.tidied()
    rate_id = prices.keys["rate_id"]

    failed = np.isin(rate_id, failures["rate_id"].to_numpy())
    if failed.any():
        batch.reject(prices.take(np.flatnonzero(failed)).frame().join(failures, on="rate_id", how="inner").select(
            position.alias("position"), pl.col("failure").alias("reason"), pl.lit(1).alias("rows"),
            _record(*PRICE_FIELDS).alias("record")), "price")
    # As on the reference path, a rate none of whose prices is written has no provider set written either.
    live = np.zeros(len(fanout), dtype=bool)
    live[rate_id] = True
    set_of_rate, set_sizes, set_uuids = _provider_sets(norm, members.of_rates(live), pool, len(fanout))
    at = set_of_rate[rate_id]
    has_set = at >= 0  # a price whose groups all failed has no set (its rows are rejects)
    kept = np.flatnonzero(has_set)
    set_index = at[kept]
    counts["rows"] += int(set_sizes[set_index].sum())
    if len(kept) == 0:
        return RATES.empty_table()
    set_column = set_uuids.take(pa.array(set_index))
    # rate_uuid: fold the file's fields once (the same for every row), item fields once per item, price
    # fields once per price, then the price's set
    file_state = row_ids.fold(row_ids.seed_state(1), [_repeat(ctx.payer, 1), _repeat(ctx.file_id, 1)])
    state = row_ids.fold(file_state.repeat(good.num_rows, axis=1), [good.column(c) for c in ITEM_FIELDS])
    fields = prices.fields
    state = row_ids.fold(np.take(state, prices.keys["item_pos"], axis=1), [fields.column(c) for c in PRICE_FIELDS])
    state = row_ids.fold(np.take(state, kept, axis=1), [set_column])
    fields = where(fields, has_set)
    # item fields taken by Arrow from the decoded items: one copy of each (long) name and description
    item_rows = pa.array(prices.keys["item"][kept].astype(np.int64) - first)
    constant = {"payer": ctx.payer, "month": ctx.month, "file_id": ctx.file_id,
                "last_updated_on": ctx.last_updated_on, "schema_version": ctx.schema_version}
    columns = {name: _repeat(value, len(kept)) for name, value in constant.items()}
    columns |= {name: items.column(name).take(item_rows) for name in (*ITEM_FIELDS, "name", "description")}
    columns |= {name: fields.column(name) for name in PRICE_FIELDS}
    columns |= {"provider_set_uuid": set_column, "rate_uuid": row_ids.state_uuids(state)}
    return pa.table([columns[name] for name in RATES.names], names=RATES.names).cast(RATES)


def _provider_sets(norm: Normalizer, members: Members, pool: pa.Table, rate_ids: int
                   ) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """The provider set of each rate, from its members in file order: the set's index by rate_id (-1
    for a rate without one), each set's size, and the sets' ids."""
    starts = run_starts(members.rate_id)
    set_uuids = norm.sets.add(starts, members.states, lambda rows: pool.take(members.row[rows]))
    set_of_rate = np.full(rate_ids, -1, dtype=np.int64)
    set_of_rate[members.rate_id[starts]] = np.arange(len(starts))
    return set_of_rate, np.diff(np.append(starts, len(members.rate_id))), set_uuids
