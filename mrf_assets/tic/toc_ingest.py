"""Discover, download and publish one month's ToC of one payer (the payer_toc table)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from mrf_assets.tic.discovery import TocNotFound, file_sha256, locate_toc
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.lake import Lake, previous_month
from mrf_assets.tic.sources import fetch
from mrf_assets.tic.toc import iter_toc, open_toc
from payer_handlers.base import Payer

TOC_TABLE = "payer_toc"
LOOKBACK_MONTHS = 36


class TocUnchanged(TocNotFound):
    """A `fixed` payer's ToC is byte-identical to an earlier month's: this month is not posted yet."""


def previous_toc(lake: Lake, payer: str, month: dt.date) -> tuple[str, dict] | None:
    """(month, ToC facts) of the latest month before `month` whose ToC was published."""
    current = f"{month:%Y-%m}"
    for _ in range(LOOKBACK_MONTHS):
        current = previous_month(current)
        manifest = lake.manifest(TOC_TABLE, current, payer)
        if manifest and manifest.get("toc"):
            return current, manifest["toc"]
    return None


def ingest_toc(payer: Payer, month: dt.date, lake: Lake, http: HttpClient, run_id: str,
               today: dt.date | None = None) -> dict:
    """Publish the month's ToC as parts of payer_toc; returns the facts stored in its manifest."""
    source = locate_toc(payer, month, http, today=today)
    with tempfile.TemporaryDirectory(prefix="mrf-toc-") as tmp:
        if source.body is not None:
            path = Path(tmp) / "toc-from-listing.json"
            path.write_bytes(source.body)
        else:
            path = fetch(source.url, http, Path(tmp))
        sha256 = file_sha256(path)
        if payer.discovery.strategy == "fixed":
            previous = previous_toc(lake, payer.slug, month)
            if previous and previous[1].get("sha256") == sha256:
                raise TocUnchanged(f"the ToC at {redact_url(source.url)} is unchanged since {previous[0]} "
                                   f"(sha256 {sha256[:12]}): {month:%Y-%m} is not posted yet")
        writer = lake.writer(TOC_TABLE, f"{month:%Y-%m}", payer.slug, run_id)
        structures = plans = in_network = 0
        for batch in iter_toc(open_toc(path, payer.shims), source.url, f"{month:%Y-%m}", payer.slug,
                              payer.shims, source.posted):
            writer.write_table(batch.to_arrow(), key="toc")
            structures += batch.height
            plans += int(batch["plans"].list.len().sum())
            in_network += int(batch["in_network_files"].list.len().sum())
        facts = {"url": redact_url(source.url), "strategy": source.strategy, "sha256": sha256,
                 "bytes": path.stat().st_size, "posted": source.posted.isoformat() if source.posted else None,
                 "candidates_tried": len(source.tried) + 1, "reporting_structures": structures, "plans": plans,
                 "in_network_references": in_network}
        writer.commit(toc=facts)
    return facts
