"""The shipped real-payer entries, each pointed at the loopback payer web (url_rewrites on their own
host), found and ingested the way their strategy says: the patterns are exercised, not just listed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from urllib.parse import urlsplit

import pytest

from mrf_assets.tic.discovery import candidates, locate_toc
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.toc import TocError
from mrf_assets.tic.toc_ingest import ingest_toc
from payer_handlers import load_registry
from payer_handlers.registry import DEFAULT_REGISTRY
from tests.conftest import FIXTURES
from tests.support.payer_web import ForwardProxy, Route

NOV, TODAY = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
REAL = {slug: p for slug, p in load_registry(DEFAULT_REGISTRY).items() if not p.enabled}
TOC = json.loads((FIXTURES / "toc-cms-v2.2.0.json").read_text())
HTML = b"<html><body>Our transparency files are being refreshed.</body></html>"
LISTINGS = {
    "uhc": ("xml", ["2026-11-01/2026-11-01_UnitedHealthcare-Insurance-Company_Insurer_Choice-Plus_P3_in-network-rates.json.gz",
                    "2026-11-01/2026-11-01_Acme-Corp_index.json"]),
    "select-health": ("html", ["2026-11-03_select-health_commercial_in-network-rates.json.gz",
                               "2026-11-03_select-health_allowed-amounts.json", "2026-10-02_old_in-network-rates.json"]),
    "priority-health": ("html", ["files/x_2026_11_01_priority_health_PPO_in-network-rates.zip"]),
}


def toc_body(payer) -> bytes:
    doc = json.loads(json.dumps(TOC))
    if "reporting_plans_object" in payer.shims:
        for structure in doc["reporting_structure"]:
            structure["reporting_plans"] = structure["reporting_plans"][0]
    return json.dumps(doc).encode()


def listing_body(slug: str, listing_url: str) -> bytes:
    kind, names = LISTINGS[slug]
    if kind == "html":
        return ("<html><body>" + "".join(f'<a href="{n}">{n}</a>' for n in names) + "</body></html>").encode()
    blobs = "".join(f"<Blob><Name>{n}</Name></Blob>" for n in names)
    return f'<?xml version="1.0"?><EnumerationResults><Blobs>{blobs}</Blobs><NextMarker/></EnumerationResults>'.encode()


def serve(web, url: str, body: bytes, payer) -> None:
    path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
    web.serve(path, Route(body=gzip.compress(body) if url.endswith(".gz") else body,
                          require_headers={"User-Agent": payer.headers["User-Agent"]} if payer.slug == "bcbs-sc" else {}))


@pytest.mark.parametrize("slug", sorted(REAL))
def test_real_entry_found_on_the_loopback_payer_web(tmp_path, payer_web, slug):
    entry = REAL[slug]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(entry.discovery.url))
    payer = dataclasses.replace(entry, url_rewrites={origin: payer_web.url(f"/{slug}")})
    with ForwardProxy() as proxy:
        if payer.proxy:
            payer = dataclasses.replace(payer, proxy=proxy.url)
        client = HttpClient(headers=payer.headers, proxy=payer.proxy, offline=True, retries=0)
        tries = candidates(payer, NOV, TODAY)
        if payer.discovery.strategy == "listing":
            serve(payer_web, tries[0][1], listing_body(slug, tries[0][1]), payer)
        else:
            for _, url in tries[:2] if payer.discovery.strategy == "poll" else []:
                serve(payer_web, url, HTML, payer)  # the drifting payer's wrong dates answer with a page
            expected = tries[2 if payer.discovery.strategy == "poll" else 0][1]
            serve(payer_web, expected, toc_body(payer), payer)
        found = locate_toc(payer, NOV, client, today=TODAY)
        facts = ingest_toc(payer, NOV, Lake(str(tmp_path / "lake")), client, "run-1", today=TODAY)
        assert facts["reporting_structures"] >= 1 and facts["strategy"] == payer.discovery.strategy
        if payer.discovery.strategy != "listing":
            assert found.url == expected
        if payer.proxy:
            assert any(payer_web.base_url in target for _, target, _ in proxy.requests)


def test_user_agent_gate_needs_the_configured_header(tmp_path, payer_web):
    entry = REAL["bcbs-sc"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(entry.discovery.url))
    payer = dataclasses.replace(entry, url_rewrites={origin: payer_web.url("/bcbs-sc")})
    serve(payer_web, payer.toc_url(NOV), toc_body(payer), payer)
    with pytest.raises(LookupError, match="HTTP 403"):
        locate_toc(payer, NOV, HttpClient(headers={"User-Agent": "python-requests"}, offline=True, retries=0))
    assert locate_toc(payer, NOV, HttpClient(headers=payer.headers, offline=True, retries=0))


def test_hmsa_needs_its_shim(tmp_path, payer_web):
    entry = REAL["hmsa"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(entry.discovery.url))
    payer = dataclasses.replace(entry, url_rewrites={origin: payer_web.url("/hmsa")}, shims={})
    serve(payer_web, payer.toc_url(NOV), toc_body(entry), payer)
    with pytest.raises(TocError, match="add shim reporting_plans_object"):
        ingest_toc(payer, NOV, Lake(str(tmp_path / "lake")), HttpClient(offline=True), "run-1")
