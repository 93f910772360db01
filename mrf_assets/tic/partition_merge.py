"""What a partition's parts merge at commit: provider groups and provider sets that files ingested by
different worker processes both wrote, and organizations."""

from __future__ import annotations

import posixpath

import numpy as np
import polars as pl
import pyarrow as pa

from mrf_assets.tic.row_ids import value_keys
from mrf_assets.tic.lake import PartitionWriter
from mrf_assets.tic.seen import SeenKeys
from mrf_assets.tic.segments import run_starts
from mrf_assets.tic.tables import TABLES


def deduplicate(writer: PartitionWriter, key: str) -> None:
    """Keep a key's rows from the first part that has it. One part at a time, so memory stays bounded
    by a part."""
    fs, seen = writer.lake.fs, SeenKeys()
    parts, writer.parts = list(writer.parts), []
    for part in parts:
        path = posixpath.join(writer.dir, part["path"])
        keys = value_keys(writer.lake.read_part(path, columns=[key])[key])
        starts = run_starts(keys)  # a set's members (a group's NPIs) are consecutive rows: one test per run
        fresh = ~seen.contains(keys[starts])
        seen.add(keys[starts[fresh]])
        if fresh.all():  # the usual part: its other columns are never read
            writer.parts.append(part)
            continue
        rows = np.repeat(fresh, np.diff(np.append(starts, len(keys))))
        frame = writer.lake.read_part(path)
        fs.delete_file(path)
        writer.write_table(frame.filter(pa.array(rows)), key=f"dedup-{part['key']}", source=part["source"])


def merge_organizations(writer: PartitionWriter) -> None:
    """Organizations are few (one per TIN): merged whole. Files write each name a TIN is given, and the
    merge keeps the smallest non-empty one ("" when it has no other, null when none): the same name
    whatever order the files, their items and the threads that flatten them come in."""
    if not writer.parts:
        return
    paths = [posixpath.join(writer.dir, p["path"]) for p in writer.parts]
    if len(paths) == 1:  # the usual partition, one process: only a TIN given two names needs a merge
        ids = writer.lake.read_part(paths[0], columns=["organization_uuid"])
        # n_unique, not is_unique: 0.02 against 0.05-0.08 s for the 500,000 TINs of a reference-heavy file
        if pl.from_arrow(ids.column(0)).n_unique() == ids.num_rows:
            return
    frame = pl.concat([pl.from_arrow(writer.lake.read_part(path)) for path in paths])
    name = pl.col("business_name")
    merged = frame.group_by("organization_uuid", maintain_order=True).agg(
        pl.col("tin_type").first(), pl.col("tin_value").first(),
        pl.coalesce(name.filter(name != "").min(), name.filter(name == "").first()).alias("business_name"))
    writer.parts.clear()
    writer.write_table(merged.to_arrow().cast(TABLES["organizations"]), key="dedup")
