"""Parse a Table of Contents into rows, one per reporting structure, streamed structure by structure.

Parsing follows the CMS schema; a deviation the payer's entry does not declare as a shim fails the ToC
with a message that names the shim to add (payer_handlers.base.SHIMS).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import urljoin

import ijson
import polars as pl

from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.sources import open_json, sniff
from mrf_assets.tic.values import text

TOC_HEADER = ("reporting_entity_name", "reporting_entity_type", "last_updated_on", "version")
PLAN_FIELDS = ("plan_name", "plan_id_type", "plan_id", "plan_market_type", "issuer_name", "plan_sponsor_name")
BATCH_STRUCTURES = 1000
_FILE = pl.Struct({"description": pl.String, "location": pl.String})
TOC_SCHEMA = pl.Schema({
    "month": pl.String, "payer": pl.String, "toc_url": pl.String,
    "reporting_entity_name": pl.String, "reporting_entity_type": pl.String,
    "toc_last_updated_on": pl.String, "toc_version": pl.String, "structure_index": pl.Int64,
    "plans": pl.List(pl.Struct({f: pl.String for f in PLAN_FIELDS})),
    "in_network_files": pl.List(_FILE), "allowed_amount_files": pl.List(_FILE),
})
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class TocError(ValueError):
    """The ToC breaks the schema in a way no declared shim covers."""


def read_toc_header(stream: BinaryIO) -> dict:
    """Top-level scalar fields before `reporting_structure`."""
    header: dict = {}
    for prefix, event, value in ijson.parse(stream):
        if prefix in TOC_HEADER and event in ("string", "number"):
            header[prefix] = text(value)
        elif prefix == "" and event == "map_key" and value == "reporting_structure":
            break
    return header


def iter_toc(open_stream: Callable[[], BinaryIO], toc_url: str, month: str, payer: str,
             shims: dict | None = None, posted: dt.date | None = None,
             batch: int = BATCH_STRUCTURES) -> Iterator[pl.DataFrame]:
    """DataFrames of up to `batch` rows. `open_stream()` returns a fresh JSON byte stream
    (it is read twice: header, then structures) so memory stays bounded by one batch."""
    try:
        yield from _iter_toc(open_stream, toc_url, month, payer, shims or {}, posted, batch)
    except (ijson.JSONError, ijson.IncompleteJSONError) as exc:
        raise TocError(f"invalid JSON in the ToC: {exc}") from exc


def _iter_toc(open_stream, toc_url: str, month: str, payer: str, shims: dict,
              posted: dt.date | None, batch: int) -> Iterator[pl.DataFrame]:
    with open_stream() as stream:
        header = _shim_header(read_toc_header(stream), shims, posted)
    base = {"month": month, "payer": payer, "toc_url": redact_url(toc_url),
            "reporting_entity_name": header.get("reporting_entity_name"),
            "reporting_entity_type": header.get("reporting_entity_type"),
            "toc_last_updated_on": header.get("last_updated_on"), "toc_version": header.get("version")}
    rows: list[dict] = []
    count = 0
    with open_stream() as stream:
        for index, structure in enumerate(ijson.items(stream, "reporting_structure.item")):
            rows.append({**base, **_structure_row(structure, index, toc_url, shims)})
            count += 1
            if len(rows) >= batch:
                yield pl.DataFrame(rows, schema=TOC_SCHEMA)
                rows = []
    if count == 0:
        raise TocError("the ToC lists no reporting_structure")
    if rows:
        yield pl.DataFrame(rows, schema=TOC_SCHEMA)


def open_toc(path, shims: dict | None = None) -> Callable[[], BinaryIO]:
    """An opener for a downloaded ToC that enforces the container shims (zip, BOM)."""
    shims = shims or {}
    with open(path, "rb") as probe:
        head = probe.read(4)
    if sniff(head) == "zip" and "toc_in_zip" not in shims:
        raise TocError("the ToC is a zip archive: add shim toc_in_zip")
    with open_json(path) as stream:
        if stream.had_bom and "utf8_bom" not in shims:
            raise TocError("the ToC starts with a UTF-8 byte-order mark: add shim utf8_bom")
    return lambda: open_json(path)


def parse_toc(open_stream, toc_url: str, month: str, payer: str, shims: dict | None = None,
              posted: dt.date | None = None) -> pl.DataFrame:
    """The whole ToC as one DataFrame (small ToCs and tests)."""
    return pl.concat(list(iter_toc(open_stream, toc_url, month, payer, shims, posted)))


def _shim_header(header: dict, shims: dict, posted: dt.date | None) -> dict:
    date = header.get("last_updated_on")
    if date and _US_DATE.match(date):
        if "us_dates" not in shims:
            raise TocError(f"last_updated_on {date!r} is not YYYY-MM-DD: add shim us_dates")
        header["last_updated_on"] = _iso(date)
    if not date and "missing_dates" in shims and posted:
        header["last_updated_on"] = posted.isoformat()
    if not header.get("version") and "missing_version" in shims:
        header["version"] = str(shims["missing_version"])
    return header


def _iso(us_date: str) -> str:
    month, day, year = _US_DATE.match(us_date).groups()
    return dt.date(int(year), int(month), int(day)).isoformat()


def _structure_row(structure: dict, index: int, toc_url: str, shims: dict) -> dict:
    where = f"reporting_structure[{index}]"
    plans = _listed(structure.get("reporting_plans"), f"{where}.reporting_plans", "reporting_plans_object", shims)
    networks = structure.get("in_network_files", [])
    if networks is None:
        if "in_network_files_null" not in shims:
            raise TocError(f"{where}.in_network_files is null: add shim in_network_files_null")
        networks = []
    allowed = structure.get("allowed_amount_file")
    if isinstance(allowed, list):
        if "allowed_amount_file_array" not in shims:
            raise TocError(f"{where}.allowed_amount_file is an array: add shim allowed_amount_file_array")
    elif allowed is not None:
        allowed = [allowed]
    rows = [{f: text(p.get(f)) for f in PLAN_FIELDS} for p in plans if isinstance(p, dict)]
    if "plan_id_type_case" in shims:
        for plan in rows:
            plan["plan_id_type"] = plan["plan_id_type"] and plan["plan_id_type"].lower()
    return {
        "structure_index": index, "plans": rows,
        "in_network_files": _files(_listed(networks, f"{where}.in_network_files", None, shims), toc_url),
        "allowed_amount_files": _files(allowed or [], toc_url),
    }


def _listed(value, where: str, shim: str | None, shims: dict) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and shim and shim in shims:
        return [value]
    hint = f": add shim {shim}" if shim else ""
    raise TocError(f"{where} is {type(value).__name__}, expected an array{hint}")


def _files(value: list, toc_url: str) -> list[dict]:
    return [
        {"description": text(f.get("description")), "location": urljoin(toc_url, text(f["location"]).strip())}
        for f in value if isinstance(f, dict) and f.get("location")
    ]
