"""payer_toc: the month's Table of Contents of one payer, one row per reporting structure."""

import dagster as dg

from mrf_assets.partitions import split_key
from mrf_assets.resources import HttpResource, LakeResource, PayerRegistryResource
from mrf_assets.tic.discovery import TocNotFound
from mrf_assets.tic.partition_lock import partition_lock
from mrf_assets.tic.sources import SourceError
from mrf_assets.tic.toc import TocError
from mrf_assets.tic.toc_ingest import ingest_toc


def build_payer_toc(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=partitions_def, group_name="discovery", kinds={"parquet"},
        description="The payer's Table of Contents for the month (found by the payer's discovery "
                    "strategy): plans and the files they list, one row per reporting structure.",
    )
    def payer_toc(context: dg.AssetExecutionContext, registry: PayerRegistryResource, http: HttpResource,
                  lake: LakeResource) -> dg.MaterializeResult:
        month, slug = split_key(context.partition_key)
        payer = registry.payer(slug)
        target = lake.lake()
        try:
            with partition_lock(target, f"{month:%Y-%m}", slug, f"run {context.run.run_id}", context.log):
                facts = ingest_toc(payer, month, target, http.client(payer), context.run.run_id)
        except (TocNotFound, TocError, SourceError, OSError) as exc:
            raise dg.Failure(f"ToC of {slug} for {month:%Y-%m}: {exc}") from exc
        context.log.info(f"ToC of {slug} for {month:%Y-%m}: {facts['url']} ({facts['strategy']}, "
                         f"posted {facts['posted']}, {facts['reporting_structures']} structures)")
        return dg.MaterializeResult(metadata={k: v for k, v in facts.items() if v is not None})

    return payer_toc
