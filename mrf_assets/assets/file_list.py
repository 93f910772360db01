"""mrf_file_list: one row per distinct file the month's ToC lists, plus the plans' networks."""

import dagster as dg
import polars as pl

from mrf_assets.io_managers import publish_small_table
from mrf_assets.resources import LakeResource
from mrf_assets.tic.file_list import build_file_list

PLANS_TABLE = "mrf_plans"


def build_mrf_file_list(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=partitions_def, io_manager_key="lake_io_manager", group_name="discovery",
        kinds={"parquet"}, ins={"payer_toc": dg.AssetIn(input_manager_key="lake_io_manager")},
        description="Distinct in-network and allowed-amount files of the month's ToC (identity: URL without "
                    "its signature), with plan <-> file links and network ids (table mrf_plans).",
    )
    def mrf_file_list(context: dg.AssetExecutionContext, payer_toc: pl.LazyFrame,
                      lake: LakeResource) -> pl.DataFrame:
        files, plans = build_file_list(payer_toc)
        publish_small_table(lake.lake(), PLANS_TABLE, context.partition_key, context.run.run_id, plans, context.log)
        by_type = dict(files.group_by("file_type").len().iter_rows())
        context.add_output_metadata({
            "distinct_files": files.height,
            "file_references": int(files["references"].sum() or 0),
            "in_network_files": by_type.get("in_network", 0),
            "allowed_amount_files": by_type.get("allowed_amount", 0),
            "plans": plans.height,
            "networks": plans["network_id"].n_unique() if plans.height else 0,
        })
        return files

    return mrf_file_list
