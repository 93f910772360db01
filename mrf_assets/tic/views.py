"""The full grain of the rates, as a view: one row per item x negotiated rate x provider group x price.

`rates` is stored one row per price with its `provider_set_uuid`; joining `provider_sets` gives every
provider group (with its `provider_group_id` and `organization_uuid`) the price applies to. The same join
in SQL (DuckDB, Athena, Spark) reads:

    SELECT r.*, s.provider_group_id, s.provider_group_uuid, s.organization_uuid
    FROM rates r JOIN provider_sets s USING (provider_set_uuid)
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.provider_sets import MEMBER_COLUMNS
from mrf_assets.tic.tables import PROVIDER_SETS, RATES, TABLES

SCHEMA = pa.schema([*RATES, *(PROVIDER_SETS.field(c) for c in MEMBER_COLUMNS)])


def denormalized_rates(rates: pl.LazyFrame, provider_sets: pl.LazyFrame) -> pl.LazyFrame:
    return rates.join(provider_sets, on="provider_set_uuid", how="inner")


def scan_denormalized_rates(lake: Lake, month: str, payer: str) -> pl.LazyFrame:
    return denormalized_rates(lake.scan("rates", month, payer, TABLES["rates"]),
                              lake.scan("provider_sets", month, payer, TABLES["provider_sets"]))
