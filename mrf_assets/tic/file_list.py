"""From a parsed ToC to one row per distinct file (identity = URL without its signature query)."""

from __future__ import annotations

import polars as pl

from mrf_assets.tic.ids import file_id, redact_url

FILE_LIST_SCHEMA = pl.Schema({
    "month": pl.String, "payer": pl.String, "file_id": pl.String, "file_type": pl.String,
    "url": pl.String, "url_redacted": pl.String, "description": pl.String,
    "references": pl.UInt32, "structure_indexes": pl.List(pl.Int64),
})


def build_file_list(toc: pl.DataFrame) -> pl.DataFrame:
    """Distinct files with how often the ToC lists them and in which reporting structures.

    `url` keeps the full URL (signed URLs are needed to download); `url_redacted` is for display.
    """
    refs = []
    for row in toc.select("month", "payer", "structure_index", "in_network_files",
                          "allowed_amount_files").iter_rows(named=True):
        for file_type, column in (("in_network", "in_network_files"), ("allowed_amount", "allowed_amount_files")):
            for f in row[column] or []:
                refs.append({"month": row["month"], "payer": row["payer"], "structure_index": row["structure_index"],
                             "file_type": file_type, "url": f["location"], "description": f["description"]})
    if not refs:
        return pl.DataFrame(schema=FILE_LIST_SCHEMA)
    frame = pl.DataFrame(refs).with_columns(
        pl.col("url").map_elements(file_id, return_dtype=pl.String).alias("file_id"),
    )
    return (
        frame.group_by("month", "payer", "file_id", "file_type", maintain_order=True)
        .agg(
            pl.col("url").first(), pl.col("description").first(),
            pl.len().cast(pl.UInt32).alias("references"),
            pl.col("structure_index").unique(maintain_order=True).alias("structure_indexes"),
        )
        .with_columns(pl.col("url").map_elements(redact_url, return_dtype=pl.String).alias("url_redacted"))
        .select(FILE_LIST_SCHEMA.names())
        .cast(dict(FILE_LIST_SCHEMA))
    )
