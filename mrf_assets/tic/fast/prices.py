"""A batch's negotiated rates and prices, flattened out of the decoded items by Arrow without copying
(a polars explode of these nested lists costs several times more)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from mrf_assets.tic.segments import ranges


@dataclass
class Prices:
    """The negotiated prices of a batch's kept rates, in the order a polars explode would give them:
    their fields in Arrow (a null price has null fields) and, by price, numpy keys (rate_id, item,
    item_pos, r, p) and whether the price was null. They stay in Arrow up to the written table."""
    fields: pa.Table
    keys: dict[str, np.ndarray]
    null: np.ndarray

    def take(self, rows: np.ndarray) -> "Prices":
        return Prices(self.fields.take(pa.array(rows)), {k: v[rows] for k, v in self.keys.items()}, self.null[rows])

    def tidied(self) -> "Prices":
        """Service codes and modifiers without null elements, place-of-service codes padded (after the
        broken prices are rejected: their records keep the file's values)."""
        fields = self.fields
        for name in ("service_code", "billing_code_modifier"):
            tidy = text_lists(fields.column(name).combine_chunks(), place_of_service=name == "service_code")
            fields = fields.set_column(fields.schema.get_field_index(name), name, tidy)
        return Prices(fields, self.keys, self.null)

    def frame(self) -> pl.DataFrame:
        """As polars, for the few prices that are rejected (their records and positions)."""
        return pl.from_arrow(self.fields).hstack(pl.DataFrame(self.keys))


def rates_and_prices(items: pa.Table, good_rows: np.ndarray, first: int,
                     rate_offset: int) -> tuple[pl.DataFrame, Prices]:
    """The negotiated rates of the good items (rate_id, item, item_pos, r, their fields, price_count)
    and their prices."""
    lists = items.column("negotiated_rates").combine_chunks()
    flat = pa.Table.from_struct_array(pc.list_flatten(lists))
    parent = pc.list_parent_indices(lists).to_numpy()
    item_pos = np.full(items.num_rows, -1, dtype=np.int64)
    item_pos[good_rows] = np.arange(len(good_rows))
    kept = item_pos[parent] >= 0
    keys = {"item": (parent + first)[kept], "item_pos": item_pos[parent][kept],
            "r": (positions(lists) + rate_offset)[kept]}
    schema = {"rate_id": pl.UInt32, "item": pl.UInt32, "item_pos": pl.UInt32, "r": pl.Int64}
    price_lists = flat.column("negotiated_prices").combine_chunks()
    rates = pl.from_arrow(where(flat.drop_columns(["negotiated_prices"]), kept)).hstack(
        pl.DataFrame({"rate_id": np.arange(kept.sum()), **keys}, schema=schema)).with_columns(
        pl.from_arrow(where(pc.list_value_length(price_lists), kept)).alias("price_count"))
    price_rate = pc.list_parent_indices(price_lists).to_numpy()
    taken = kept[price_rate]
    rate_id = (np.cumsum(kept) - 1)[price_rate[taken]]
    values = where(pc.list_flatten(price_lists), taken)
    fields = pa.Table.from_arrays(values.flatten(), names=[f.name for f in values.type])  # a null price: null fields
    price_keys = {"rate_id": rate_id, **{k: v[rate_id] for k, v in keys.items()}, "p": positions(price_lists)[taken]}
    return rates, Prices(fields, price_keys, values.is_null().to_numpy(zero_copy_only=False))


def text_lists(column: pa.Array, place_of_service: bool = False) -> pa.Array:
    """Lists of text without their null elements; place-of-service codes trimmed and zero-padded as
    the reference rules do ("1" -> "01"). On the lists' values at once (a polars list.eval costs 2x)."""
    flat = column.flatten()
    valid = flat.is_valid().to_numpy(zero_copy_only=False)
    whole = valid.all()
    values = flat if whole else flat.filter(pa.array(valid))
    if place_of_service:  # a few distinct codes: tidied once each
        encoded = pc.dictionary_encode(values)
        codes = pc.utf8_trim_whitespace(encoded.dictionary)
        digit = pc.and_(pc.equal(pc.utf8_length(codes), 1), pc.utf8_is_digit(codes))
        tidy = pc.if_else(digit, pc.utf8_lpad(codes, 2, "0"), codes)
        if not tidy.equals(encoded.dictionary):
            values, whole = tidy.take(encoded.indices), False
    if whole:  # the usual lists: nothing to drop or pad
        return column
    lengths = np.bincount(pc.list_parent_indices(column).to_numpy()[valid], minlength=len(column))
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int64())
    return pa.LargeListArray.from_arrays(offsets, values, mask=column.is_null())


def where(data, mask: np.ndarray):
    """The rows of an Arrow table or array where mask holds (no copy when it holds everywhere: every
    item of a batch is usually good)."""
    return data if mask.all() else data.filter(pa.array(mask))


def positions(lists: pa.ListArray) -> np.ndarray:
    """Each element's index within its list, in flattened order."""
    return ranges(np.zeros(len(lists)), np.diff(lists.offsets.to_numpy()))
