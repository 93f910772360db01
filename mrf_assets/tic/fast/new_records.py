"""A batch's organizations and provider groups as the lake records them: built column-wise on a flatten
thread, then handed to the file's Normalizer in file order, only those the partition has not written."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from mrf_assets.tic.normalize import Normalizer
from mrf_assets.tic.seen import SeenIds, id_keys, listing_keys, take_unseen
from mrf_assets.tic.tables import ORGANIZATIONS, PROVIDERS


@dataclass
class NewRecords:
    """A batch's organizations and provider groups, first listings only, in the lake's tables; which of
    them the partition has not written yet is decided in file order (`record`)."""
    orgs: pa.Table  # one row per name a TIN is given (the partition's merge keeps one)
    listings: np.ndarray  # each org row's seen.listing_key, as the Normalizer keys it
    group_uuids: pa.Array
    providers: pa.Table  # the groups' rows, one per NPI
    group: np.ndarray  # each provider row's group (a row of group_uuids)

    @classmethod
    def of(cls, good: pl.DataFrame) -> "NewRecords":
        """As Normalizer._group records them; pure, so a flatten thread does it, and converts the rows to
        the lake's types (millions of NPI rows), not the file's reader."""
        named = good.select("org_uuid", "tin_type", "tin_value", pl.col("tin").struct.field("business_name"))
        named = named.filter(pl.struct("org_uuid", "business_name").is_first_distinct())
        orgs = named.select(pl.col("org_uuid").alias("organization_uuid"), "tin_type", "tin_value", "business_name")
        orgs = orgs.to_arrow().cast(ORGANIZATIONS)
        listings = listing_keys(orgs["organization_uuid"], orgs["business_name"])
        groups = good.filter(pl.col("group_uuid").is_first_distinct())
        # An NPI that is not a number is kept as a null row so the accuracy check sees it.
        npis = pl.concat_list(pl.col("npi_values"), pl.lit(None, pl.Int64).repeat_by(pl.col("invalid")))
        networks = pl.when(pl.col("networks").list.len() > 0).then(pl.col("networks"))
        providers = groups.select(pl.col("group_uuid").alias("provider_group_uuid"), npis.alias("npi"),
                                  pl.col("org_uuid").alias("organization_uuid"), networks.alias("network_name"),
                                  pl.int_range(pl.len(), dtype=pl.UInt32).alias("group"))
        providers = providers.explode("npi", empty_as_null=False)
        return cls(orgs, listings, groups["group_uuid"].to_arrow(),
                   providers.drop("group").to_arrow().cast(PROVIDERS), providers["group"].to_numpy())

    def record(self, norm: Normalizer) -> None:
        """Hand the ones not yet written in the partition to the Normalizer's tables."""
        orgs = self.orgs.filter(pa.array(_unseen(self.listings, norm.seen_orgs, norm.new_orgs)))
        if orgs.num_rows:
            norm.org_tables.append(orgs)
        fresh = _unseen(id_keys(self.group_uuids), norm.seen_groups, norm.new_groups)
        count = int(fresh.sum())
        if count == 0:
            return
        norm.counts["provider_groups"] += count
        providers = self.providers
        if count < len(fresh):
            providers = providers.filter(pa.array(fresh[self.group]))
        norm.provider_tables.append(providers)


def _unseen(keys: np.ndarray, seen: SeenIds, new: SeenIds) -> np.ndarray:
    """Which keys (distinct) neither holds; they are added to `new`."""
    return take_unseen(keys, seen.key_set(), new.key_set())
