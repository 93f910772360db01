"""The fast path for a file's top-level provider_references: batches of references decoded by Arrow and
resolved to provider groups column-wise, with exactly the reference rules (Normalizer._group and
add_reference): the same ids, providers, organizations and failures.

A big payer file lists hundreds of thousands of references with millions of NPIs; done one Python
object at a time this took a quarter of the whole parse. A batch Arrow cannot take (missing ids, NPIs
given as text, remote `location` references) goes through Normalizer.add_reference instead
(file_references.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from mrf_assets.tic import ids, row_ids
from mrf_assets.tic.fast.decode import GROUP, IdDecoder
from mrf_assets.tic.fast.runs import Piece
from mrf_assets.tic.segments import ranges, run_starts
from mrf_assets.tic.tables import PROVIDER_SETS


def _reference_schema(provider_id: pa.DataType) -> pa.Schema:
    return pa.schema([("provider_group_id", provider_id), ("network_name", pa.list_(pa.string())),
                      ("location", pa.string()), ("provider_groups", pa.list_(GROUP))])


REFERENCE_SCHEMA = _reference_schema(pa.int64())
TEXT_ID_REFERENCE_SCHEMA = _reference_schema(pa.string())  # decimal ids, quoted as decode.py explains
REFERENCE_COLUMNS = {"ref_key": pl.String, "group_uuid": pl.Binary, "org_uuid": pl.Binary, "failure": pl.String}
STATES = ("h0", "h1")  # a member's hash state (with_member_states), carried with its frame row
_SEP = "\x1f"  # ids.stable_uuid's field separator
MAX_LOOKUP_ID = 50_000_000  # ids above this are looked up by a join, not an index array


class NeedsPython(Exception):
    """This batch of references has something only the reference rules handle."""


def decode_references(pieces: list[Piece], decoder: IdDecoder) -> pa.Table:
    table = decoder.decode(pieces)
    if table["provider_group_id"].null_count or table["location"].null_count < table.num_rows:
        raise NeedsPython()
    return table


def _uuid5(texts: pl.Series) -> pl.Series:
    """ids.stable_uuid over prepared texts, once per distinct text."""
    repeats = texts.n_unique() < len(texts)  # counting is cheap; a lookup join is not
    distinct = texts.unique() if repeats else texts
    # uuid.uuid5 without building a UUID object per text (a 2 GB file has a million groups and TINs)
    namespace, digests = hashlib.sha1(ids.NAMESPACE.bytes), []
    for text in distinct.cast(pl.Binary).to_list():
        sha1 = namespace.copy()
        sha1.update(text)
        digests.append(sha1.digest())
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 20)[:, :16].copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    uuids = pl.from_arrow(pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(raw), [None, pa.py_buffer(raw.tobytes())])).cast(pl.Binary)
    if not repeats:
        return uuids
    lookup = pl.DataFrame({"text": distinct, "uuid": uuids})
    return texts.to_frame("text").join(lookup, on="text", how="left", maintain_order="left")["uuid"]


def stable_uuids(frame: pl.DataFrame, *fields: pl.Expr) -> pl.Series:
    """ids.stable_uuid(*fields) of each row of `frame`, null fields as stable_uuid writes None."""
    return _uuid5(frame.select(pl.concat_str([f.fill_null("\x00") for f in fields], separator=_SEP)).to_series())


def resolve(table: pa.Table) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows (ref, REFERENCE_COLUMNS, STATES) of decoded references, in file order, and their resolved
    groups (for NewRecords). Pure: runs on any thread."""
    refs = pl.from_arrow(table).with_row_index("ref").with_columns(
        pl.col("provider_group_id").cast(pl.String).alias("ref_key"),
        pl.col("network_name").list.drop_nulls().fill_null([]).alias("networks"))
    has_groups = pl.col("provider_groups").list.len().fill_null(0) > 0
    empty = refs.filter(~has_groups).select(
        "ref", "ref_key", pl.concat_str(pl.lit("provider reference "), "ref_key", pl.lit(" has no provider groups"))
        .alias("failure"))
    groups = (refs.filter(has_groups).select("ref", "ref_key", "networks", "provider_groups")
              .explode("provider_groups", empty_as_null=False).with_row_index("member").unnest("provider_groups"))
    failure = (pl.when(pl.col("tin").is_null()).then(pl.lit("provider group has no tin object"))
               .when(pl.col("npi").is_null()).then(pl.lit("provider group npi is not a list")))
    groups = groups.with_columns(failure.alias("failure"))
    good = groups.filter(pl.col("failure").is_null())
    tin_type = pl.col("tin").struct.field("type").str.strip_chars().str.to_lowercase()
    tin_type = pl.when(tin_type == "").then(None).otherwise(tin_type)
    value = pl.col("tin").struct.field("value").str.strip_chars()
    ein = (pl.col("tin_type") == "ein") & value.str.contains(r"^\d{2}-?\d{7}$")
    good = good.with_columns(tin_type.alias("tin_type")).with_columns(
        pl.when(ein).then(value.str.replace("-", "", literal=True)).otherwise(value).alias("tin_value"),
        pl.col("npi").list.eval(pl.element().drop_nulls().sort().unique(maintain_order=True)).alias("npi_values"),
        (pl.col("npi").list.len() - pl.col("npi").list.drop_nulls().list.len()).alias("invalid"))
    org_uuid = stable_uuids(good, pl.lit("org"), pl.col("tin_type"), pl.col("tin_value"))
    good = good.with_columns(org_uuid.alias("org_uuid"))
    members = [pl.lit("group"), pl.col("org_uuid").bin.encode("hex")]
    npis = pl.col("npi_values").list.eval(pl.element().cast(pl.String)).list.join(_SEP)
    members += [pl.when(pl.col("npi_values").list.len() > 0).then(npis + _SEP).otherwise(pl.lit(""))
                + pl.lit("invalid" + _SEP) + pl.col("invalid").cast(pl.String) + pl.lit(_SEP + "networks"),
                pl.when(pl.col("networks").list.len() > 0).then(_SEP + pl.col("networks").list.join(_SEP))
                .otherwise(pl.lit(""))]
    good = good.with_columns(_uuid5(good.select(pl.concat_str(
        members[0], members[1], separator=_SEP) + _SEP + members[2] + members[3]).to_series()).alias("group_uuid"))
    rows = pl.concat([good.select("ref", "member", "ref_key", "group_uuid", "org_uuid", "failure"),
                      groups.filter(pl.col("failure").is_not_null()).select("ref", "member", "ref_key", "failure"),
                      empty.with_columns(pl.lit(None, pl.UInt32).alias("member"))], how="diagonal")
    rows = rows.sort("ref", "member").select("ref", *REFERENCE_COLUMNS).cast(REFERENCE_COLUMNS)
    return with_member_states(rows, "ref_key"), good


def with_member_states(frame: pl.DataFrame, ref: str) -> pl.DataFrame:
    """h0, h1: each provider-set member's hash state, computed once per distinct group (not per rate)."""
    state = row_ids.member_states(frame["group_uuid"].to_arrow(), frame[ref].to_arrow())
    return frame.with_columns(pl.Series("h0", state[0]), pl.Series("h1", state[1]))


@dataclass
class ReferenceTable:
    """The file's provider references ready to look up: `frame` (ref_key, group_uuid, org_uuid, failure,
    member hash states), one reference's rows together; when every id is a small integer, `starts`
    and `lengths` index the frame by id, so a batch finds its rows without a join against a table that
    grows with the file (a 2 GB file lists 500,000 provider groups)."""
    frame: pl.DataFrame
    starts: np.ndarray | None = None
    lengths: np.ndarray | None = None

    def __post_init__(self):
        # what a batch needs per member row, as arrays: the strings are taken only for new provider sets
        self.states = np.stack([self.frame["h0"].to_numpy(), self.frame["h1"].to_numpy()]).astype(np.uint64)
        self.failed = self.frame["failure"].is_not_null().to_numpy()
        self.members = member_pool(self.frame)

    def find(self, keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """The frame rows of each id in `keys` as (position in keys, frame row) pairs, in keys' order and
        a reference's rows in file order; an id the file does not define gives one pair with row -1."""
        if self.starts is None or not keys.dtype.is_integer():  # text ids (decimal ones)
            probe = keys.cast(pl.String).to_frame("ref_key").with_row_index("at")
            found = probe.join(self.frame.select("ref_key").with_row_index("row"), on="ref_key", how="left").sort(
                "at", "row", nulls_last=True)
            return found["at"].to_numpy().astype(np.int64), found["row"].cast(pl.Int64).fill_null(-1).to_numpy()
        keys = keys.to_numpy()
        inside = (keys >= 0) & (keys < len(self.starts))
        at = np.where(inside, keys, 0)
        starts = np.where(inside, self.starts[at], -1)
        lengths = np.where(starts >= 0, self.lengths[at], 0)
        reps = np.maximum(lengths, 1)
        rows = ranges(starts, reps)
        return np.repeat(np.arange(len(keys)), reps), np.where(np.repeat(lengths > 0, reps), rows, -1)


def member_pool(frame: pl.DataFrame | None) -> pa.Table:
    """The provider-set member columns of resolved groups (ref_key, group_uuid, org_uuid), in the lake's
    types: gathering 16-byte ids per member is several times cheaper than gathering text."""
    schema = PROVIDER_SETS.remove(0)
    if frame is None:
        return schema.empty_table()
    return frame.select(pl.col("ref_key").alias("provider_group_id"), pl.col("group_uuid").alias("provider_group_uuid"),
                        pl.col("org_uuid").alias("organization_uuid")).to_arrow().cast(schema)


def reference_table(frame: pl.DataFrame) -> ReferenceTable:
    """From file_references.latest(...)."""
    keys = frame["ref_key"].str.to_integer(strict=False)
    canonical = keys.is_not_null().all() and (keys.cast(pl.String) == frame["ref_key"]).all()
    if not canonical or frame.height == 0 or keys.min() < 0 or keys.max() >= MAX_LOOKUP_ID:
        return ReferenceTable(frame)
    keys = keys.to_numpy()
    first = run_starts(keys)
    starts = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
    lengths = np.zeros(len(starts), dtype=np.int64)
    starts[keys[first]] = first
    lengths[keys[first]] = np.diff(np.append(first, len(keys)))
    return ReferenceTable(frame, starts, lengths)
