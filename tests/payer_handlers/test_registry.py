"""The payer registry loads, resolves URLs, and refuses bad entries with a readable message."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from payer_handlers import RegistryError, load_registry, registry_path
from payer_handlers.registry import DEFAULT_REGISTRY


def write(tmp_path, body: str):
    path = tmp_path / "payers.yaml"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    defaults:
      headers: {User-Agent: test-agent}
    payers:
      - slug: acme
        name: Acme Health
        posting_day: 5
        discovery: {strategy: dated, url: "https://mrf.acme.test/{date:%Y-%m-%d}_acme_index.json"}
        url_rewrites: {"https://old.acme.test/": "https://new.acme.test/"}
        headers: {X-Key: k}
      - slug: local
        discovery: {strategy: dated, url: files/toc.json}
        enabled: false
"""


def test_shipped_registry_loads():
    payers = load_registry(DEFAULT_REGISTRY)
    assert [slug for slug, p in payers.items() if p.enabled] == ["cms-v1", "cms-v2", "real-2022"]
    real = {slug: p for slug, p in payers.items() if not p.enabled}
    assert {"anthem", "uhc", "cigna", "aetna", "hmsa", "bcbs-nc", "hcsc-il", "florida-blue", "health-alliance",
            "amerihealth-caritas", "select-health", "priority-health", "bcbs-sc", "bcbs-mn"} == set(real)
    assert {p.discovery.strategy for p in real.values()} == {"dated", "poll", "listing", "fixed"}
    assert real["aetna"].posting_day == 5 and real["hmsa"].shims == {"reporting_plans_object": True}
    assert real["bcbs-mn"].proxy and "Mozilla" in real["bcbs-sc"].headers["User-Agent"]


def test_fields_and_url_resolution(tmp_path):
    payers = load_registry(write(tmp_path, GOOD))
    acme = payers["acme"]
    assert acme.toc_url(dt.date(2026, 2, 1)) == "https://mrf.acme.test/2026-02-05_acme_index.json"
    assert acme.headers == {"User-Agent": "test-agent", "X-Key": "k"}
    assert acme.resolve("https://old.acme.test/a.json") == "https://new.acme.test/a.json"
    assert payers["local"].toc_url(dt.date(2026, 2, 1)) == (tmp_path / "files" / "toc.json").as_uri()
    assert payers["local"].enabled is False
    assert acme.thresholds.completeness == 0.80 and acme.thresholds.accuracy == 0.85


def test_posting_day_clamped_to_month_end(tmp_path):
    path = write(tmp_path, GOOD.replace("posting_day: 5", "posting_day: 31"))
    assert load_registry(path)["acme"].toc_url(dt.date(2026, 2, 1)).endswith("2026-02-28_acme_index.json")


def test_environment_override(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("MRF_PAYERS_FILE", str(path))
    assert registry_path() == path
    assert list(load_registry()) == ["acme", "local"]


@pytest.mark.parametrize("change, message", [
    (("slug: acme", "slug: Acme!"), r"payers\[0\]: key 'slug': 'Acme!' is not a lower-case slug"),
    (("posting_day: 5", "posting_day: 40"), r"payer 'acme'.*key 'posting_day': 40 is not a day of month"),
    (("strategy: dated, url: \"https", "strategy: guess, url: \"https"), r"payer 'acme'.*'discovery.strategy': 'guess'"),
    (("        headers: {X-Key: k}", "        header: {X-Key: k}"), r"payer 'acme'.*unknown key\(s\) \['header'\]"),
    (("slug: local", "slug: acme"), r"payer 'acme': slug is used twice"),
    (("        name: Acme Health", "        name: Acme\n        thresholds: {accuracy: 2}"),
     r"payer 'acme'.*'thresholds.accuracy': 2 is not between 0 and 1"),
    (("        discovery: {strategy: dated, url: files/toc.json}", ""), r"payer 'local'.*'discovery' is required"),
])
def test_bad_entries_fail_loading_with_payer_and_key(tmp_path, change, message):
    old, new = change
    body = GOOD.replace(old, new, 1)
    assert body != GOOD
    with pytest.raises(RegistryError, match=message):
        load_registry(write(tmp_path, body))


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(RegistryError, match="invalid YAML"):
        load_registry(write(tmp_path, "payers: [\n"))
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "nope.yaml")
