"""mrf_file_list: one row per distinct file the month's ToC lists."""

import dagster as dg
import polars as pl

from mrf_assets.tic.file_list import build_file_list


def build_mrf_file_list(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=partitions_def, io_manager_key="lake_io_manager", group_name="discovery",
        kinds={"parquet"}, description="Distinct in-network and allowed-amount files of the month's ToC.",
    )
    def mrf_file_list(context: dg.AssetExecutionContext, payer_toc: pl.DataFrame) -> pl.DataFrame:
        files = build_file_list(payer_toc)
        by_type = dict(files.group_by("file_type").len().iter_rows())
        context.add_output_metadata({
            "distinct_files": files.height,
            "file_references": int(files["references"].sum() or 0),
            "in_network_files": by_type.get("in_network", 0),
            "allowed_amount_files": by_type.get("allowed_amount", 0),
        })
        return files

    return mrf_file_list
