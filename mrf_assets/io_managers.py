"""Parquet IO manager for the small month x payer tables (ToC, file list), published like the rest
of the lake: <root>/<asset>/month=YYYY-MM/payer=<slug>/ with a manifest."""

import dagster as dg
import polars as pl

from mrf_assets.partitions import lake_month, split_key
from mrf_assets.resources import LakeResource
from mrf_assets.tic.lake import Lake, PartitionWriter
from mrf_assets.tic.partition_lock import partition_lock


def publish_small_table(lake: Lake, table: str, partition_key: str, run_id: str, frame: pl.DataFrame,
                        log) -> tuple[PartitionWriter, dict]:
    """One small table of a month x payer partition published as one part (kept even when empty, so an
    empty month still has a partition to read), under the partition's lock; the writer and its manifest."""
    month, payer = split_key(partition_key)
    with partition_lock(lake, lake_month(month), payer, f"run {run_id}", log):
        writer = lake.writer(table, lake_month(month), payer, run_id)
        writer.write_table(frame.to_arrow(), keep_empty=True)
        return writer, writer.commit()


class LakeParquetIOManager(dg.ConfigurableIOManager):
    """Outputs are polars DataFrames; inputs load as a DataFrame, or lazily when annotated pl.LazyFrame."""

    lake: LakeResource

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        writer, manifest = publish_small_table(self.lake.lake(), context.asset_key.path[-1], context.partition_key,
                                               context.run_id, obj, context.log)
        context.add_output_metadata({
            "rows": obj.height,
            "path": dg.MetadataValue.path(writer.lake.uri(writer.dir)),
            "parts": len(manifest["parts"]),
        })

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | pl.LazyFrame:
        month, payer = split_key(context.asset_partition_key)
        table = context.upstream_output.asset_key.path[-1]
        frame = self.lake.lake().scan(table, lake_month(month), payer)
        return frame if context.dagster_type.typing_type is pl.LazyFrame else frame.collect()
