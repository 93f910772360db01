"""Suggest a payers.yaml entry for a new payer from one URL: its ToC, or the page that lists its files.

The suggestion holds the discovery strategy and URL template (the URL's dates become `{date:...}` fields),
the posting day, the headers its server wants and the shims its ToC needs (toc_survey). It is proven
before it is shown: the rendered YAML is loaded by the registry, and the entry must find the month's ToC
the way the payer_toc asset does.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mrf_assets.tic.discovery import locate_toc
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.listing import classify, parse_listing
from mrf_assets.tic.sources import local_path, sniff
from mrf_assets.tic.toc_survey import TocSurvey, survey_toc
from mrf_assets.tic.url_dates import DatedText, dated_url
from payer_handlers.registry import load_registry, registry_path

MAX_HEAD_BYTES = 64 << 20  # of the ToC downloaded for the survey: its first structures, not 8 GB
# Some payers' servers refuse clients that do not look like a browser (BCBS South Carolina: 403).
BROWSER_HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                 "Chrome/124.0 Safari/537.36"}
_FIELD = re.compile(r"\{date:([^}]*)\}")


class SuggestionError(ValueError):
    """No entry can be suggested from this URL; the message says why."""


@dataclass
class Suggestion:
    entry: dict
    month: dt.date                     # the month the entry was proven on
    survey: TocSurvey | None = None    # None: the ToC is built from a listing of in-network files
    notes: list[str] = field(default_factory=list)
    found: str = ""                    # what the entry found for the month

    def yaml(self) -> str:
        return yaml.safe_dump([self.entry], sort_keys=False, default_flow_style=False, width=1 << 20)

    def report(self) -> str:
        """The entry under comments that say what it rests on, ready to paste under `payers:`."""
        lines = [f"proven: the entry finds {self.found}"]
        if self.survey:
            s = self.survey
            lines.append(f"ToC read: {s.structures:,} reporting structures ({s.stopped or 'the whole ToC'}), "
                         f"{s.plans:,} plans, {s.in_network_references:,} in-network file references to "
                         f"{len(s.in_network_files):,} files, {len(s.allowed_amount_files):,} allowed-amount files")
            lines += [f"shim {name}: {reason}" for name, reason in s.reasons.items()]
        lines += [f"note: {note}" for note in self.notes]
        return "".join(f"# {line}\n" for line in lines) + self.yaml()


def suggest_payer(url: str, slug: str | None = None, name: str | None = None, offline: bool = False,
                  max_bytes: int = MAX_HEAD_BYTES) -> Suggestion:
    defaults = _registry_defaults()
    headers = dict(defaults.get("headers") or {})
    path = local_path(url)
    url = str(path.resolve()) if path is not None else url  # the registry resolves paths against its folder
    with tempfile.TemporaryDirectory(prefix="mrf-suggest-") as tmp:
        head, cut, needed = _head(url, headers, offline, Path(tmp) / "head", max_bytes)
        with open(head, "rb") as f:
            kind = sniff(f.read(4096))
        if kind == "html":
            suggestion = _from_listing(url, head.read_bytes(), headers | needed, offline, Path(tmp), max_bytes)
        elif kind in ("json", "gzip", "zip"):
            suggestion = _from_toc(url, head, cut)
        else:
            raise SuggestionError(f"{redact_url(url)} serves neither a ToC nor a page of links ({kind} body)")
    header = suggestion.survey.header if suggestion.survey else {}
    name = name or header.get("reporting_entity_name") or _host(url)
    entry = {"slug": slug or _slug(name), "name": name, **suggestion.entry}
    if needed:
        entry["headers"] = needed
        suggestion.notes.append("the server refused the default User-Agent (HTTP 403): a browser's is sent")
    if suggestion.survey and suggestion.survey.shims:
        shims = suggestion.survey.shims
        entry["shims"] = sorted(shims) if all(v is True for v in shims.values()) else dict(sorted(shims.items()))
    suggestion.entry = entry
    suggestion.found = _prove(suggestion, defaults, offline)
    return suggestion


def _from_toc(url: str, head: Path, cut: bool) -> Suggestion:
    survey = survey_toc(head, url, cut=cut)
    dated, signed = dated_url(url)
    notes = ["the URL is signed and its signature expires: the template leaves the signature out; find the "
             "payer's unsigned ToC URL"] if signed else []
    if dated.date is None:
        notes.append("the URL holds no date: strategy 'fixed' tells a new month by the ToC's content")
        return Suggestion({"discovery": {"strategy": "fixed", "url": dated.template}}, dt.date.today(), survey, notes)
    return Suggestion({**_posting(dated, notes), "discovery": {"strategy": "dated", "url": dated.template}},
                      dated.date, survey, notes)


def _from_listing(url: str, body: bytes, headers: dict, offline: bool, tmp: Path, max_bytes: int) -> Suggestion:
    links = parse_listing(body, url)[0]
    kinds = {link: classify(link) for link in dict.fromkeys(links)}
    wanted = [link for link, kind in kinds.items() if kind == "toc"] or \
             [link for link, kind in kinds.items() if kind == "in_network"]
    if not wanted:
        raise SuggestionError(f"{redact_url(url)} is a page of {len(links)} links, none to a ToC or an "
                              "in-network file (an HTML page served in place of a ToC?)")
    dated = {link: dated_url(link)[0] for link in wanted}
    dates = sorted((d for d in dated.values() if d.date), key=lambda d: d.date)
    page, _ = dated_url(url)
    notes = [f"the page lists {len(wanted):,} {'ToC' if kinds[wanted[0]] == 'toc' else 'in-network'} files"]
    if not dates:
        notes.append("the listed files carry no date: every month takes every file listed")
        discovery = {"strategy": "listing", "url": page.template, "include": ""}
        return Suggestion({"discovery": discovery}, dt.date.today(), None, notes)
    latest = dates[-1]
    discovery = {"strategy": "listing", "url": page.template,
                 "include": f"{{date:{_FIELD.search(latest.template).group(1)}}}"}  # selects the month's files
    suggestion = Suggestion({**_posting(latest, notes), "discovery": discovery}, latest.date, None, notes)
    toc_links = [link for link in wanted if kinds[link] == "toc" and dated[link].date == latest.date]
    if toc_links:  # the ToC payer_toc will read: its shims count as much as a ToC given directly
        head, cut, _ = _head(toc_links[0], headers, offline, tmp / "linked", max_bytes)
        suggestion.survey = survey_toc(head, toc_links[0], cut=cut)
    return suggestion


def _posting(dated: DatedText, notes: list[str]) -> dict:
    if not dated.has_day:
        notes.append("the URL names only the month: posting_day is the day the month's file appears (1 assumed)")
        return {"posting_day": 1}
    if dated.date.day != 1:
        notes.append(f"posted on day {dated.date.day}: if the day drifts from month to month, use strategy "
                     "'poll' with the same url (and `days:` to narrow it)")
    return {"posting_day": dated.date.day}


def _head(url: str, headers: dict, offline: bool, dest: Path, max_bytes: int) -> tuple[Path, bool, dict]:
    """(a local copy of the body's head, whether it was cut, the headers the server needed)."""
    path = local_path(url)
    if path is not None:
        if not path.is_file():
            raise SuggestionError(f"no such file: {path}")
        return path, False, {}
    try:
        return (*_download_head(HttpClient(headers=headers, offline=offline), url, dest, max_bytes), {})
    except OSError as exc:  # requests' errors are OSErrors too
        response = getattr(exc, "response", None)
        if response is None or response.status_code not in (401, 403):
            raise SuggestionError(str(exc)) from exc
    try:
        client = HttpClient(headers=headers | BROWSER_HEADERS, offline=offline)
        return (*_download_head(client, url, dest, max_bytes), dict(BROWSER_HEADERS))
    except OSError as exc:
        raise SuggestionError(f"{exc} (also with a browser's User-Agent)") from exc


def _download_head(http: HttpClient, url: str, dest: Path, max_bytes: int) -> tuple[Path, bool]:
    written = 0
    with http.get(url) as response, open(dest, "wb") as out:
        # raw bytes: a Content-Encoding: gzip body stays gzip, and open_json sniffs it
        for chunk in response.raw.stream(1 << 20, decode_content=False):
            out.write(chunk[: max_bytes - written])
            written += len(chunk)
            if written >= max_bytes:
                return dest, True
    return dest, False


def _prove(suggestion: Suggestion, defaults: dict, offline: bool) -> str:
    """Load the rendered entry through the registry and find the month's ToC with it."""
    with tempfile.TemporaryDirectory(prefix="mrf-suggest-") as tmp:
        registry = Path(tmp) / "payers.yaml"
        registry.write_text(yaml.safe_dump({"defaults": defaults}, sort_keys=False)
                            + "payers:\n" + textwrap.indent(suggestion.yaml(), "  "))
        payer = next(iter(load_registry(registry).values()))
        http = HttpClient(headers=payer.headers, proxy=payer.proxy, offline=offline)
        source = locate_toc(payer, suggestion.month, http, today=dt.date.today())
    if source.body is not None:
        files = source.body.count(b'"location"')
        return f"the ToC of {suggestion.month:%Y-%m}, built from the listing: {files:,} files"
    return f"the ToC of {suggestion.month:%Y-%m} at {redact_url(source.url)}"


def _registry_defaults() -> dict:
    try:
        doc = yaml.safe_load(registry_path().read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    return doc.get("defaults") or {}


def _host(url: str) -> str:
    return re.sub(r"^www\.", "", url.split("//", 1)[-1].split("/", 1)[0]) or "payer"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63] or "payer"
