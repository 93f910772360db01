"""Parse a Table of Contents into one row per reporting structure (streamed, structure by structure)."""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import urljoin

import ijson
import polars as pl

from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.normalize import text

TOC_HEADER = ("reporting_entity_name", "reporting_entity_type", "last_updated_on", "version")
PLAN_FIELDS = ("plan_name", "plan_id_type", "plan_id", "plan_market_type", "issuer_name", "plan_sponsor_name")
_FILE = pl.Struct({"description": pl.String, "location": pl.String})
TOC_SCHEMA = pl.Schema({
    "month": pl.String, "payer": pl.String, "toc_url": pl.String,
    "reporting_entity_name": pl.String, "reporting_entity_type": pl.String,
    "toc_last_updated_on": pl.String, "toc_version": pl.String, "structure_index": pl.Int64,
    "plans": pl.List(pl.Struct({f: pl.String for f in PLAN_FIELDS})),
    "in_network_files": pl.List(_FILE), "allowed_amount_files": pl.List(_FILE),
})


def read_toc_header(stream: BinaryIO) -> dict:
    """Top-level scalar fields before `reporting_structure`."""
    header: dict = {}
    for prefix, event, value in ijson.parse(stream):
        if prefix in TOC_HEADER and event in ("string", "number"):
            header[prefix] = text(value)
        elif prefix == "" and event == "map_key" and value == "reporting_structure":
            break
    return header


def parse_toc(open_stream, toc_url: str, month: str, payer: str) -> pl.DataFrame:
    """`open_stream()` returns a fresh JSON byte stream of the ToC (it is read twice: header, then
    structures), so memory stays bounded by one reporting structure plus the output rows."""
    with open_stream() as stream:
        header = read_toc_header(stream)
    rows = []
    with open_stream() as stream:
        for index, structure in enumerate(ijson.items(stream, "reporting_structure.item")):
            rows.append(_structure_row(structure, index, toc_url))
    if not rows:
        raise ValueError(f"ToC {redact_url(toc_url)} lists no reporting_structure")
    base = {"month": month, "payer": payer, "toc_url": redact_url(toc_url),
            "reporting_entity_name": header.get("reporting_entity_name"),
            "reporting_entity_type": header.get("reporting_entity_type"),
            "toc_last_updated_on": header.get("last_updated_on"), "toc_version": header.get("version")}
    return pl.DataFrame([{**base, **row} for row in rows], schema=TOC_SCHEMA)


def _structure_row(structure: dict, index: int, toc_url: str) -> dict:
    plans = structure.get("reporting_plans") or []
    return {
        "structure_index": index,
        "plans": [{f: text(p.get(f)) for f in PLAN_FIELDS} for p in _as_list(plans) if isinstance(p, dict)],
        "in_network_files": _files(structure.get("in_network_files"), toc_url),
        "allowed_amount_files": _files(structure.get("allowed_amount_file"), toc_url),
    }


def _files(value, toc_url: str) -> list[dict]:
    return [
        {"description": text(f.get("description")), "location": urljoin(toc_url, text(f["location"]).strip())}
        for f in _as_list(value) if isinstance(f, dict) and f.get("location")
    ]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
