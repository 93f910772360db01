"""Small payer registries and ToCs for tests that serve a payer from the loopback payer web."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import DEMO

SLOPPY_FILE = DEMO / "cms-v2" / "in-network-rates-multiple-plans-sample.json"


def write_registry(tmp_path: Path, slug: str, toc_url: str, extra: str = "") -> Path:
    path = tmp_path / "payers.yaml"
    path.write_text(textwrap.dedent(f"""
        payers:
          - slug: {slug}
            discovery: {{strategy: dated, url: "{toc_url}"}}
        """) + extra)
    return path


def toc_listing(*locations: str) -> bytes:
    """A one-structure ToC listing the given in-network file locations."""
    return json.dumps({
        "reporting_entity_name": "Test Health", "reporting_entity_type": "health insurance issuer",
        "reporting_structure": [{
            "reporting_plans": [{"plan_name": "p", "plan_id_type": "ein", "plan_id": "111111111", "plan_market_type": "group"}],
            "in_network_files": [{"description": loc, "location": loc} for loc in locations],
        }],
    }).encode()


def sloppy_in_network() -> bytes:
    """The CMS 2.x example with required fields dropped and an invalid negotiated_type everywhere:
    completeness and accuracy both fail on it, reconciliation does not."""
    doc = json.loads(SLOPPY_FILE.read_text())
    for item in doc["in_network"]:
        for key in ("name", "description", "billing_code_type_version"):
            item.pop(key)
        for rate in item["negotiated_rates"]:
            for price in rate["negotiated_prices"]:
                price.pop("expiration_date")
                price["negotiated_type"] = "whatever"
    return json.dumps(doc).encode()
