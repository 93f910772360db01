"""normalized_rates, provider_sets, organizations, providers: one pass over the month's in-network files.

The tables come out of the same stream, so one multi-asset step writes them (plus `rejects`
and `file_stats`) as parquet parts, publishes the partition, and evaluates the blocking checks.
"""

import dagster as dg
import polars as pl

from mrf_assets.checks import RATES_KEY, evaluate_rates_checks, rates_check_specs
from mrf_assets.partitions import lake_month, split_key
from mrf_assets.resources import HttpResource, LakeResource, PayerRegistryResource
from mrf_assets.tic.ingest import PartitionIngest
from mrf_assets.tic.parallel import default_workers, ingest_files
from mrf_assets.tic.partition_lock import partition_lock

TABLE_OF_ASSET = {"normalized_rates": "rates", "provider_sets": "provider_sets", "organizations": "organizations",
                  "providers": "providers"}


def build_rates(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="normalize_in_network",
        specs=[
            dg.AssetSpec(RATES_KEY, deps=["mrf_file_list"], group_name="normalized", kinds={"parquet"},
                         description="One row per item x negotiated rate x price, naming its provider set; "
                                     "joined to provider_sets: one row per provider group (tic/views.py)."),
            dg.AssetSpec("provider_sets", deps=["mrf_file_list"], group_name="normalized", kinds={"parquet"},
                         description="The provider groups each rate applies to: one row per set x member, "
                                     "each distinct set once."),
            dg.AssetSpec("organizations", deps=["mrf_file_list"], group_name="normalized", kinds={"parquet"},
                         description="Organizations (TINs) referenced by the month's rates."),
            dg.AssetSpec("providers", deps=["mrf_file_list"], group_name="normalized", kinds={"parquet"},
                         description="Provider groups: one row per group x NPI."),
        ],
        check_specs=rates_check_specs(),
        partitions_def=partitions_def,
        ins={"mrf_file_list": dg.AssetIn(input_manager_key="lake_io_manager")},
    )
    def normalize_in_network(context: dg.AssetExecutionContext, mrf_file_list: pl.DataFrame,
                             lake: LakeResource, registry: PayerRegistryResource, http: HttpResource):
        month, slug = split_key(context.partition_key)
        payer = registry.payer(slug)
        target = lake.lake()
        urls = mrf_file_list.filter(pl.col("file_type") == "in_network")["url"].to_list()
        # held until the checks have read what this run published
        with partition_lock(target, lake_month(month), slug, f"run {context.run.run_id}", context.log):
            ingest = PartitionIngest(target, slug, lake_month(month), context.run.run_id, http.client(payer),
                                     resolve=payer.resolve, log=context.log)
            context.log.info(f"{len(urls)} in-network files, {min(default_workers(), len(urls))} worker process(es)")
            ingest_files(ingest, urls)
            manifests = ingest.commit()
            checks = evaluate_rates_checks(target, lake_month(month), slug, payer.thresholds)
        stats = ingest.stats
        summary = {
            "files": len(stats), "files_failed": sum(s["status"] != "ok" for s in stats),
            "rows_rejected": sum(s.get("rows_rejected") or 0 for s in stats),
            "json_bytes": sum(s.get("json_bytes") or 0 for s in stats),
        }
        for asset, table in TABLE_OF_ASSET.items():
            manifest = manifests[table]
            metadata = {"rows": manifest["rows"], "parts": len(manifest["parts"]),
                        "path": dg.MetadataValue.path(target.uri(target.partition_dir(table, lake_month(month), slug)))}
            if asset == "normalized_rates":
                metadata.update(summary)
            yield dg.MaterializeResult(asset_key=asset, metadata=metadata,
                                       check_results=checks if asset == "normalized_rates" else None)

    return normalize_in_network
