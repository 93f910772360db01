"""A file's provider references as they stream in: each batch resolved column-wise (references.py) on a
flatten thread and recorded in file order, the lookup table built once they are read, and the reference
rules' Targets for items that fall back to Python."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from mrf_assets.tic.fast.decode import IdDecoder, load_json, quote_group_ids
from mrf_assets.tic.fast.new_records import NewRecords
from mrf_assets.tic.fast.references import (REFERENCE_COLUMNS, REFERENCE_SCHEMA, STATES, TEXT_ID_REFERENCE_SCHEMA,
                                            NeedsPython, ReferenceTable, decode_references, reference_table, resolve,
                                            with_member_states)
from mrf_assets.tic.fast.runs import elements
from mrf_assets.tic.normalize import Normalizer, Target
from mrf_assets.tic.values import id_text


class FileReferences:
    """One file's references: a frame per batch read, until the lookup table is asked for."""

    def __init__(self):
        self.frames: list[pl.DataFrame] = []
        self._table: ReferenceTable | None = None
        self._version, self._python_version = 0, -1
        self.ids = IdDecoder(REFERENCE_SCHEMA, TEXT_ID_REFERENCE_SCHEMA, quote_group_ids)  # text once decimal

    def prepare(self, events: list[tuple]) -> tuple[pl.DataFrame, NewRecords] | None:
        """A batch of scanner events decoded and resolved column-wise (`resolve`), on any thread; None
        when only the reference rules can take it (a giant reference is loaded on its own)."""
        if any(e[0] == "big_element" for e in events):
            return None
        try:
            frame, good = resolve(decode_references([e[2] for e in events], self.ids))
        except (NeedsPython, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return frame, NewRecords.of(good)

    def add(self, norm: Normalizer, events: list[tuple], prepared: tuple | None) -> None:
        """A batch of scanner events and what `prepare` made of it, in file order: the first listing of
        an organization (its business name) and of a provider group is the one recorded."""
        with norm.lock:  # inline groups may be resolving on a flatten thread
            if prepared is not None:
                frame, new = prepared
                new.record(norm)
            else:
                keys = []
                for reference in load_events(events):
                    norm.add_reference(reference)
                    keys.append(id_text(reference.get("provider_group_id")) if isinstance(reference, dict) else None)
                frame = python_rows(norm, [k for k in keys if k is not None])
            self.frames.append(frame)
            self._table = None
            self._version += 1

    def table(self, norm: Normalizer) -> ReferenceTable:
        """Rebuilt only when more references have been read."""
        if self._table is None:
            with norm.lock:  # a falling-back batch may be reading the frames
                self._table = reference_table(latest(self.frames))
                # one frame from now on, sharing the table's columns (a 2 GB file lists 500,000 groups)
                frame = self._table.frame
                self.frames[:] = [frame.select(pl.col("ref_key").rle_id().alias("ref"), *REFERENCE_COLUMNS, *STATES)]
        return self._table

    def give_python(self, norm: Normalizer) -> None:
        """Every reference as the Normalizer's Targets (the caller holds its lock)."""
        if self._python_version != self._version:
            norm.references = to_targets(latest(self.frames))
            self._python_version = self._version


def to_targets(frame: pl.DataFrame) -> dict[str, list[Target]]:
    """The rows as the reference rules' Targets (for items that fall back to Python)."""
    out: dict[str, list[Target]] = {}
    for key, group, org, failure in frame.select(*REFERENCE_COLUMNS).iter_rows():
        out.setdefault(key, []).append(Target(group, org, key, failure))
    return out


def latest(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One table of the file's references (frames of `ref`, REFERENCE_COLUMNS, STATES); a
    provider_group_id listed twice keeps its last listing, as a dict would."""
    if not frames:
        return with_member_states(pl.DataFrame(schema=REFERENCE_COLUMNS), "ref_key")
    table = pl.concat([f.with_columns((pl.lit(i, pl.UInt64) * (1 << 32) + pl.col("ref")).alias("occurrence"))
                       for i, f in enumerate(frames)])
    return table.filter(pl.col("occurrence") == pl.col("occurrence").max().over("ref_key")).select(
        *REFERENCE_COLUMNS, *STATES)


def load_events(events: list[tuple]):
    """The elements of scanner events as Python values (a big one was spilled to a file)."""
    for kind, _, value, *_ in events:
        if kind == "big_element":
            with open(value, "rb") as f:
                yield load_json(f.read())
        else:
            yield from (load_json(blob) for blob in elements([value]))


def python_rows(norm: Normalizer, keys: list[str]) -> pl.DataFrame:
    """Frame rows (ref, REFERENCE_COLUMNS, STATES) of references the Normalizer resolved itself."""
    rows = [(i, key, t.group_uuid, t.org_uuid, t.failure) for i, key in enumerate(keys)
            for t in norm.references.get(key, [])]
    frame = pl.DataFrame(rows, schema={"ref": pl.UInt32, **REFERENCE_COLUMNS}, orient="row")
    return with_member_states(frame, "ref_key")
