"""Read the lake back as comparable tuples (rates joined to their provider sets, groups and organizations)."""

from __future__ import annotations

import polars as pl

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.tables import TABLES
from mrf_assets.tic.views import scan_denormalized_rates


def table(lake: Lake, name: str, month: str, payer: str) -> pl.DataFrame:
    return pl.from_arrow(lake.read(name, month, payer, TABLES.get(name)))


def sorted_tables(lake: Lake, month: str, payer: str) -> dict[str, pl.DataFrame]:
    """The normalized tables of a partition, each sorted by every column: two parsers' lakes compare equal."""
    out = {}
    for name in ("rates", "provider_sets", "providers", "organizations", "rejects"):
        frame = table(lake, name, month, payer)
        if name == "rejects":  # the rest of a reject (its raw text, the run) differs by parser and run
            frame = frame.select("file_id", "position", "level", "reason", "rows")
        out[name] = frame.sort(frame.columns)
    return out


def rate_tuples(lake: Lake, month: str, payer: str, file_id: str | None = None) -> list[tuple]:
    rates = scan_denormalized_rates(lake, month, payer).collect()
    if file_id:
        rates = rates.filter(pl.col("file_id") == file_id)
    groups = (table(lake, "providers", month, payer).group_by("provider_group_uuid")
              .agg(pl.col("npi").unique().sort()))
    orgs = table(lake, "organizations", month, payer).select("organization_uuid", "tin_value")
    joined = rates.join(groups, on="provider_group_uuid", how="left").join(orgs, on="organization_uuid", how="left")
    return [
        (r["billing_code"], r["negotiated_rate"], r["negotiated_type"], r["tin_value"], tuple(r["npi"] or ()),
         r["provider_group_id"])
        for r in joined.iter_rows(named=True)
    ]
