"""Find a payer's Table of Contents for a month, whatever the payer does (DESIGN.md section 5).

Strategies: `dated` (a URL template on the posting day), `poll` (every candidate date and template
variant of the month), `listing` (no ToC: build one from a directory page or bucket listing) and
`fixed` (one undated URL overwritten monthly; a new version is told by its content hash). For every
strategy a body that is not JSON, gzip or zip (an HTML page served with 200) counts as "not found".
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.listing import MAX_PAGES, classify, parse_listing
from mrf_assets.tic.sources import local_path, sniff
from payer_handlers.base import Payer

MAX_LISTING_BYTES = 64 << 20


class TocNotFound(LookupError):
    """No valid ToC for the month; the message lists every candidate tried and why it failed."""


@dataclass
class TocSource:
    url: str
    strategy: str
    posted: dt.date | None = None
    body: bytes | None = None           # listing: the ToC built from the index
    tried: list[str] = field(default_factory=list)


def candidates(payer: Payer, month: dt.date, today: dt.date | None = None) -> list[tuple[dt.date | None, str]]:
    """(posting date, URL) pairs to try, in order."""
    d = payer.discovery
    if d.strategy in ("dated", "listing"):
        day = payer.posting_date(month)
        return [(day, payer.format_url(d.url, day))]
    if d.strategy == "fixed":
        return [(None, payer.resolve(d.url))]
    last = calendar.monthrange(month.year, month.month)[1]
    days = [day for day in (d.days or range(1, last + 1)) if day <= last]
    if today and (today.year, today.month) == (month.year, month.month):
        days = [day for day in days if day <= today.day]  # the future has not been posted yet
    seen, out = set(), []
    for day in days:
        date = month.replace(day=day)
        for template in (d.url, *d.variants):
            url = payer.format_url(template, date)
            if url not in seen:
                seen.add(url)
                out.append((date, url))
    return out


def probe(http: HttpClient, url: str) -> str | None:
    """None when the URL serves a ToC-like body (JSON, gzip, zip); else why not."""
    path = local_path(url)
    try:
        if path is not None:
            if not path.is_file():
                return "no such file"
            with open(path, "rb") as f:
                head = f.read(4096)
        else:
            with http.get(url, stream=True) as response:
                head = next(response.iter_content(4096), b"")
    except Exception as exc:  # any failure of a candidate means "not this one"; the reason is kept
        return str(exc)
    kind = sniff(head)
    if kind == "gzip":  # look inside: a gzipped HTML page is still not a ToC
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
        except zlib.error:
            return "corrupt gzip body"
        kind = sniff(inner) if inner.strip() else "json"  # too little inflated to tell: the download decides
    if kind in ("zip", "json"):
        return None
    return "HTML page instead of a ToC" if kind == "html" else f"not a ToC ({kind} body)"


def locate_toc(payer: Payer, month: dt.date, http: HttpClient, today: dt.date | None = None) -> TocSource:
    if payer.discovery.strategy == "listing":
        return _from_listing(payer, month, http)
    tried = []
    for posted, url in candidates(payer, month, today):
        reason = probe(http, url)
        if reason is None:
            return TocSource(url=url, strategy=payer.discovery.strategy, posted=posted, tried=tried)
        tried.append(f"{redact_url(url)}: {reason}")
    raise TocNotFound(_not_found(payer, month, tried))


def _not_found(payer: Payer, month: dt.date, tried: list[str]) -> str:
    shown = tried if len(tried) <= 6 else tried[:3] + [f"... {len(tried) - 6} more ..."] + tried[-3:]
    return f"no ToC for {payer.slug} {month:%Y-%m} ({len(tried)} tried): " + "; ".join(shown or ["no candidates"])


def _from_listing(payer: Payer, month: dt.date, http: HttpClient) -> TocSource:
    posted, url = candidates(payer, month)[0]
    pattern = re.compile(payer.discovery.include.format(date=posted, year=posted.year, month=posted.month,
                                                        day=posted.day))
    links, page, pages, size = [], url, 0, 0
    while page and pages < MAX_PAGES:
        try:
            with http.get(page) as response:
                body = response.content
        except Exception as exc:
            raise TocNotFound(f"no ToC for {payer.slug} {month:%Y-%m}: listing {redact_url(page)}: {exc}") from exc
        size += len(body)
        if size > MAX_LISTING_BYTES:
            raise TocNotFound(f"listing {redact_url(url)} is larger than {MAX_LISTING_BYTES:,} bytes")
        found, page = parse_listing(body, page)
        links += found
        pages += 1
    files: dict[str, list[str]] = {"toc": [], "in_network": [], "allowed_amount": []}
    for link in dict.fromkeys(links):
        kind = classify(link)
        if kind and pattern.search(link):
            files[kind].append(link)
    if files["toc"]:
        return TocSource(url=files["toc"][0], strategy="listing", posted=posted)
    if not files["in_network"]:
        raise TocNotFound(f"no ToC for {payer.slug} {month:%Y-%m}: listing {redact_url(url)} has {len(links)} "
                          f"links, none an in-network file matching {pattern.pattern!r}")
    return TocSource(url=url, strategy="listing", posted=posted, body=built_toc(payer, posted, files))


def built_toc(payer: Payer, posted: dt.date, files: dict[str, list[str]]) -> bytes:
    """A CMS-shaped ToC for a payer that publishes only an index of its files."""
    plan = payer.discovery.plan or {"plan_name": payer.name, "plan_id_type": "ein", "plan_id": "",
                                    "plan_market_type": "group"}
    structures = [{"reporting_plans": [plan],
                   "in_network_files": [{"description": u.rsplit("/", 1)[-1], "location": u} for u in files["in_network"]]}]
    for url in files["allowed_amount"]:
        structures.append({"reporting_plans": [plan], "allowed_amount_file": {"description": url.rsplit("/", 1)[-1],
                                                                              "location": url}})
    return json.dumps({"reporting_entity_name": payer.name, "reporting_entity_type": "health insurance issuer",
                       "last_updated_on": posted.isoformat(), "version": "built-from-listing",
                       "reporting_structure": structures}).encode()


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def url_sha256(http: HttpClient, url: str) -> str:
    """Content hash of a URL, streamed (no copy on disk): how a `fixed` payer's new month is told."""
    path = local_path(url)
    if path is not None:
        return file_sha256(path)
    digest = hashlib.sha256()
    with http.get(url, stream=True) as response:
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
