"""payer_toc: the month's Table of Contents of one payer, one row per reporting structure."""

import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from mrf_assets.partitions import lake_month, split_key
from mrf_assets.resources import HttpResource, PayerRegistryResource
from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.sources import SourceError, fetch, open_json
from mrf_assets.tic.toc import parse_toc


def build_payer_toc(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=partitions_def, io_manager_key="lake_io_manager", group_name="discovery",
        kinds={"parquet"}, description="The payer's Table of Contents for the month: plans and the files they list.",
    )
    def payer_toc(context: dg.AssetExecutionContext, registry: PayerRegistryResource,
                  http: HttpResource) -> pl.DataFrame:
        month, slug = split_key(context.partition_key)
        payer = registry.payer(slug)
        url = payer.toc_url(month)
        context.log.info(f"fetching ToC of {slug} for {lake_month(month)}: {redact_url(url)}")
        with tempfile.TemporaryDirectory(prefix="mrf-toc-") as tmp:
            try:
                path = fetch(url, http.client(payer), Path(tmp))
                toc = parse_toc(lambda: open_json(path), url, lake_month(month), slug)
            except (SourceError, ValueError, OSError) as exc:
                raise dg.Failure(f"ToC of {slug} for {lake_month(month)} unusable: {exc}",
                                 metadata={"toc_url": redact_url(url)}) from exc
        files = toc.select(pl.col("in_network_files").list.len().sum()).item()
        context.add_output_metadata({
            "toc_url": redact_url(url),
            "reporting_entity_name": toc["reporting_entity_name"][0] or "",
            "reporting_structures": toc.height,
            "plans": int(toc.select(pl.col("plans").list.len().sum()).item()),
            "in_network_references": int(files),
        })
        return toc

    return payer_toc
