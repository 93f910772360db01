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

from mrf_assets.tic import ids
from mrf_assets.tic.fast.references import ReferenceTable, with_member_states
from mrf_assets.tic.normalize import Normalizer
from mrf_assets.tic.segments import ranges, run_starts
from mrf_assets.tic.tables import RATES, REJECTS

# The id fields at each grain are the rate_uuid fold's own lists, so the two cannot drift apart.
ITEM_FIELDS, PRICE_FIELDS = ids.ITEM_ID_FIELDS, ids.PRICE_ID_FIELDS
_TARGET = {"rate_id": pl.UInt32, "group_uuid": pl.String, "org_uuid": pl.String, "ref_id": pl.String,
           "failure": pl.String, "h0": pl.UInt64, "h1": pl.UInt64}


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


def _rates(items: pa.Table, good_rows: np.ndarray, first: int, rate_offset: int) -> pl.DataFrame:
    """The negotiated rates of the good items (item, item_pos, r, rate fields, rate_id), flattened by
    Arrow without copying (a polars explode of these nested lists costs ten times more)."""
    lists = items.column("negotiated_rates").combine_chunks()
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy()
    offsets = lists.offsets.to_numpy()
    item_pos = np.full(items.num_rows, -1, dtype=np.int64)
    item_pos[good_rows] = np.arange(len(good_rows))
    rates = pl.from_arrow(pa.Table.from_struct_array(flat)).with_columns(
        pl.Series("item", parent + first, dtype=pl.UInt32), pl.Series("item_pos", item_pos[parent]),
        pl.Series("r", np.arange(len(flat)) - (offsets[parent] - offsets[0]) + rate_offset))
    rates = rates.filter(pl.col("item_pos") >= 0).with_columns(pl.col("item_pos").cast(pl.UInt32))
    return rates.with_row_index("rate_id")


def _positions(lists: pl.Series) -> np.ndarray:
    """Each element's index within its list, in exploded order (the lists are non-empty)."""
    lengths = lists.list.len().to_numpy()
    return ranges(np.zeros(len(lengths)), lengths)


def _position(*parts: tuple[str, str]) -> pl.Expr:
    """in_network[i].negotiated_rates[r]...: where a record sits in the file."""
    pieces = []
    for i, (name, column) in enumerate(parts):
        pieces += [pl.lit(("." if i else "") + name + "["), pl.col(column).cast(pl.String), pl.lit("]")]
    return pl.concat_str(pieces)


def _inline_targets(norm: Normalizer, rates: pl.DataFrame) -> pl.DataFrame:
    inline = rates.filter(pl.col("provider_groups").is_not_null())
    empty = inline.filter(pl.col("provider_groups").list.len() == 0).select(
        "rate_id", pl.lit("negotiated rate has an empty provider_groups list").alias("failure"))
    groups = (inline.filter(pl.col("provider_groups").list.len() > 0).select("rate_id", "provider_groups")
              .explode("provider_groups").unnest("provider_groups"))
    if groups.height:
        key = pl.concat_str([pl.col("tin").struct.field(f).fill_null("\x00") for f in ("type", "value", "business_name")]
                            + [pl.col("npi").list.eval(pl.element().cast(pl.String)).list.join(",").fill_null("\x00")],
                           separator="\x1f")
        groups = groups.with_columns(key.alias("key"))
        resolved = []
        with norm.lock:
            for row in groups.unique("key", maintain_order=True).iter_rows(named=True):
                group = {"npi": row["npi"], "tin": row["tin"]} if row["tin"] is not None else {"npi": row["npi"]}
                target = norm._group(group, [], None)
                resolved.append((row["key"], target.group_uuid, target.org_uuid, target.failure))
        lookup = pl.DataFrame(resolved, schema={"key": pl.String, "group_uuid": pl.String, "org_uuid": pl.String,
                                                "failure": pl.String}, orient="row")
        lookup = with_member_states(lookup.with_columns(pl.lit(None, pl.String).alias("ref")), "ref")
        groups = groups.join(lookup, on="key", how="left").select("rate_id", "group_uuid", "org_uuid", "failure",
                                                                   "h0", "h1")
    else:
        groups = pl.DataFrame(schema={k: v for k, v in _TARGET.items() if k != "ref_id"})
    return pl.concat([groups.with_columns(pl.lit(None, pl.String).alias("ref_id")),
                      empty.with_columns(*[pl.lit(None, pl.String).alias(c) for c in ("group_uuid", "org_uuid", "ref_id")])],
                     how="diagonal").select(list(_TARGET)).cast(_TARGET)


def _reference_targets(rates: pl.DataFrame, references: ReferenceTable) -> pl.DataFrame:
    refd = rates.filter(pl.col("provider_groups").is_null())
    has = pl.col("provider_references").is_not_null() & (pl.col("provider_references").list.len() > 0)
    neither = refd.filter(~has).select(
        "rate_id", pl.lit("negotiated rate has neither provider_groups nor provider_references").alias("failure"))
    ids_ = (refd.filter(has).select("rate_id", "provider_references").explode("provider_references")
            .with_row_index("order").with_columns(pl.col("provider_references").cast(pl.String).alias("ref_key")))
    undefined = pl.concat_str(pl.lit("provider reference "), pl.col("ref_key"), pl.lit(" is not defined in the file"))
    if references.starts is None:
        found = ids_.join(references.frame, on="ref_key", how="left").sort("order", "seq", nulls_last=True)
    else:
        found = references.look_up(ids_)
    found = (found.with_columns(pl.when(pl.col("seq").is_null()).then(undefined).otherwise(pl.col("failure"))
                                .alias("failure"))
             .select("rate_id", "group_uuid", "org_uuid", pl.col("ref_key").alias("ref_id"), "failure", "h0", "h1"))
    return pl.concat([found, neither], how="diagonal").select(list(_TARGET)).cast(_TARGET)


def flatten(items: pa.Table, first: int, norm: Normalizer, references: ReferenceTable,
            rate_offset: int = 0, new_items: bool = True) -> pa.Table:
    """Rates rows of a batch of decoded items whose first item is in_network[first]. A giant item comes
    in chunks of its rates: `rate_offset` numbers them on, and only its first chunk counts the item.
    Safe to call from several threads at once on the same Normalizer."""
    batch = _BatchOut(norm)
    try:
        return _flatten(items, first, norm, references, rate_offset, new_items, batch)
    finally:
        batch.apply(norm)


def _flatten(items: pa.Table, first: int, norm: Normalizer, references: ReferenceTable, rate_offset: int,
             new_items: bool, batch: _BatchOut) -> pa.Table:
    ctx, counts = norm.ctx, batch.counts
    df = pl.from_arrow(items).with_row_index("item", offset=first)
    counts["items"] += df.height if new_items else 0
    blank = lambda c: pl.col(c).fill_null("") == ""  # noqa: E731
    reason = (pl.when(blank("billing_code") & blank("billing_code_type"))
              .then(pl.lit("in-network item has no billing_code or billing_code_type"))
              .when(blank("billing_code")).then(pl.lit("in-network item has no billing_code"))
              .when(blank("billing_code_type")).then(pl.lit("in-network item has no billing_code_type"))
              .when(pl.col("negotiated_rates").is_null()).then(pl.lit("in-network item has no negotiated_rates list")))
    df = df.with_columns(reason.alias("reason"))
    bad = df.filter(pl.col("reason").is_not_null())
    if not new_items:
        bad = bad.clear()  # rejected once, with its first chunk
        df = df.filter(pl.col("reason").is_null())
    counts["items_rejected"] += bad.height
    batch.reject(bad.select(_position(("in_network", "item")).alias("position"), "reason", pl.lit(0).alias("rows"),
                              _record(*items.column_names).alias("record")), "item")
    good = df.filter(pl.col("reason").is_null()).drop("reason").with_row_index("item_pos")

    rates = _rates(items, good["item"].to_numpy() - first, first, rate_offset)
    no_prices = pl.col("negotiated_prices").is_null() | (pl.col("negotiated_prices").list.len() == 0)
    batch.reject(rates.filter(no_prices).select(
        _position(("in_network", "item"), ("negotiated_rates", "r")).alias("position"),
        pl.lit("negotiated rate has no negotiated_prices list").alias("reason"), pl.lit(0).alias("rows"),
        _record("provider_references", "provider_groups", "negotiated_prices").alias("record")), "rate")
    rates = rates.filter(~no_prices)
    targets = pl.concat([_inline_targets(norm, rates), _reference_targets(rates, references)])
    fanout = targets.group_by("rate_id").len("targets")

    prices = (rates.select("rate_id", "item", "item_pos", "r", "negotiated_prices").explode("negotiated_prices")
              .with_columns(pl.Series("p", _positions(rates["negotiated_prices"])),
                            pl.col("negotiated_prices").is_null().alias("price_null"))
              .unnest("negotiated_prices").join(fanout, on="rate_id", how="left")
              .with_columns(pl.col("targets").fill_null(0)).with_row_index("price_pos"))
    counts["prices"] += prices.height
    counts["expected_rows"] += int(prices["targets"].sum() or 0)
    position = _position(("in_network", "item"), ("negotiated_rates", "r"), ("negotiated_prices", "p"))
    broken = prices.with_columns(
        pl.when(pl.col("price_null")).then(pl.lit("negotiated price is not an object"))
        .when(pl.col("negotiated_rate").is_null()).then(pl.lit("negotiated_rate is not a number: None")).alias("reason"))
    batch.reject(broken.filter(pl.col("reason").is_not_null()).select(
        position.alias("position"), "reason", pl.col("targets").alias("rows"), _record(*PRICE_FIELDS).alias("record")),
        "price")
    prices = broken.filter(pl.col("reason").is_null()).drop("reason").with_columns(
        pl.col("service_code").list.eval(pl.element().str.strip_chars()).list.eval(
            pl.when(pl.element().str.contains(r"^\d+$")).then(pl.element().str.zfill(2)).otherwise(pl.element()))
        .list.drop_nulls(), pl.col("billing_code_modifier").list.drop_nulls(),
    ).drop("price_pos").with_row_index("price_pos")

    failed = prices.join(targets.filter(pl.col("failure").is_not_null()), on="rate_id", how="inner")
    batch.reject(failed.select(position.alias("position"), pl.col("failure").alias("reason"),
                                 pl.lit(1).alias("rows"), _record(*PRICE_FIELDS).alias("record")), "price")
    sets, set_uuids = _provider_sets(norm, targets.filter(pl.col("failure").is_null()))
    rows = prices.join(sets, on="rate_id", how="inner")
    counts["rows"] += int(rows["members"].sum() or 0)
    if rows.height == 0:
        return RATES.empty_table()
    out = rows.join(good.select("item", "name", "description", *ITEM_FIELDS), on="item", how="left").select(
        "price_pos", "set_index", pl.lit(ctx.payer).alias("payer"), pl.lit(ctx.month).alias("month"),
        pl.lit(ctx.file_id).alias("file_id"), *ITEM_FIELDS, "name", "description", *PRICE_FIELDS,
        pl.lit(ctx.last_updated_on, pl.String).alias("last_updated_on"),
        pl.lit(ctx.schema_version, pl.String).alias("schema_version"))
    set_column = set_uuids.take(out["set_index"].to_arrow())
    # rate_uuid: fold item fields once per item, price fields once per price, then the price's set
    n = good.height
    state = ids.fold(ids.seed_state(n), [pa.array([ctx.payer] * n), pa.array([ctx.file_id] * n)]
                     + [good[c].to_arrow() for c in ITEM_FIELDS])
    state = ids.fold(state[:, prices["item_pos"].to_numpy()], [prices[c].to_arrow() for c in PRICE_FIELDS])
    state = ids.fold(state[:, out["price_pos"].to_numpy()], [set_column])
    table = out.drop("price_pos", "set_index").to_arrow()
    table = table.append_column(RATES.field("provider_set_uuid"), set_column)
    table = table.append_column(RATES.field("rate_uuid"), ids.state_uuids(state))
    return table.select(RATES.names).cast(RATES)


def _provider_sets(norm: Normalizer, members: pl.DataFrame) -> tuple[pl.DataFrame, pa.Array]:
    """Each rate's provider set (rate_id, set_index into the returned ids, members), from its resolved
    provider groups in file order."""
    members = members.sort("rate_id", maintain_order=True)
    rate_ids = members["rate_id"].to_numpy()
    starts = run_starts(rate_ids)
    table = members.select(pl.col("ref_id").alias("provider_group_id"), pl.col("group_uuid").alias("provider_group_uuid"),
                           pl.col("org_uuid").alias("organization_uuid")).to_arrow()
    set_uuids = norm.sets.add(table, starts, np.stack([members["h0"].to_numpy(), members["h1"].to_numpy()]))
    sets = pl.DataFrame({"rate_id": rate_ids[starts], "set_index": np.arange(len(starts), dtype=np.uint32),
                         "members": np.diff(np.append(starts, len(rate_ids)))},
                        schema={"rate_id": pl.UInt32, "set_index": pl.UInt32, "members": pl.Int64})
    return sets, set_uuids
