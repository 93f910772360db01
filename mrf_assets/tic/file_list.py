"""From a parsed ToC to one row per distinct file, plan <-> file links and network ids.

A file's identity is its URL without the signature query, so the same file listed thousands of times
(Anthem) or re-signed for every listing (BlueCard) is one row. Plans whose in-network file sets are
identical share a `network_id`, the way a payer's networks show through its ToC.
"""

from __future__ import annotations

import hashlib

import polars as pl

from mrf_assets.tic.ids import file_id, redact_url

FILE_LIST_SCHEMA = pl.Schema({
    "month": pl.String, "payer": pl.String, "file_id": pl.String, "file_type": pl.String,
    "url": pl.String, "url_redacted": pl.String, "description": pl.String,
    "references": pl.UInt32, "structure_indexes": pl.List(pl.Int64), "plan_count": pl.UInt32,
    "network_ids": pl.List(pl.String),
})
PLAN_KEY = ("plan_id_type", "plan_id", "plan_name")


def _refs(toc: pl.LazyFrame, column: str, file_type: str) -> pl.LazyFrame:
    return (toc.select("month", "payer", "structure_index", column).explode(column, empty_as_null=False)
            .filter(pl.col(column).is_not_null()).unnest(column)
            .with_columns(pl.lit(file_type).alias("file_type")))


def build_file_list(toc: pl.LazyFrame | pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(files, plans): distinct files with their link counts and networks; plans with their network."""
    toc = toc.lazy()
    refs = pl.concat([_refs(toc, "in_network_files", "in_network"),
                      _refs(toc, "allowed_amount_files", "allowed_amount")]).collect()
    ids = refs.select(pl.col("location").unique())
    ids = ids.with_columns(pl.col("location").map_elements(file_id, return_dtype=pl.String).alias("file_id"))
    refs = refs.join(ids, on="location")
    plans = (toc.select("structure_index", "plans").explode("plans", empty_as_null=False)
             .filter(pl.col("plans").is_not_null()).unnest("plans").with_columns(
                 pl.concat_str([pl.col(c).fill_null("") for c in PLAN_KEY], separator="|").alias("plan_key"))
             .collect())
    links = (plans.select("plan_key", "structure_index")
             .join(refs.filter(pl.col("file_type") == "in_network").select("structure_index", "file_id"),
                   on="structure_index").select("plan_key", "file_id").unique())
    networks = links.group_by("plan_key").agg(pl.col("file_id").unique().sort().alias("files"))
    networks = networks.with_columns(
        pl.col("files").map_elements(_network_id, return_dtype=pl.String).alias("network_id"),
        pl.col("files").list.len().cast(pl.UInt32).alias("in_network_files"),
    ).drop("files")
    file_networks = (links.join(networks, on="plan_key").group_by("file_id")
                     .agg(pl.col("network_id").unique().sort().alias("network_ids"),
                          pl.col("plan_key").n_unique().cast(pl.UInt32).alias("plan_count")))
    if refs.is_empty():
        files = pl.DataFrame(schema=FILE_LIST_SCHEMA)
    else:
        files = (
            refs.group_by("month", "payer", "file_id", "file_type", maintain_order=True)
            .agg(pl.col("location").first().alias("url"), pl.col("description").first(),
                 pl.len().cast(pl.UInt32).alias("references"),
                 pl.col("structure_index").unique(maintain_order=True).alias("structure_indexes"))
            .join(file_networks, on="file_id", how="left")
            .with_columns(pl.col("url").map_elements(redact_url, return_dtype=pl.String).alias("url_redacted"),
                          pl.col("plan_count").fill_null(0))
            .select(FILE_LIST_SCHEMA.names()).cast(dict(FILE_LIST_SCHEMA))
        )
    plan_table = (plans.unique("plan_key", maintain_order=True).drop("structure_index")
                  .join(networks, on="plan_key", how="left"))
    return files, plan_table


def _network_id(files: pl.Series) -> str:
    return hashlib.sha256("\n".join(files.to_list()).encode()).hexdigest()[:16]
