"""An independent reference flattening of an in-network file with json.load (small files only).

It shares no code with the parser: the tests compare the lake against it."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path


def load(path: Path) -> dict:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw, parse_float=Decimal)


def _tin(tin: dict) -> str:
    value = str(tin["value"]).strip()
    return value.replace("-", "") if tin["type"] == "ein" and len(value.replace("-", "")) == 9 else value


def flatten(doc: dict, remote: dict[str, dict] | None = None) -> tuple[list[tuple], int]:
    """(rows, rejected_rows). A row is (billing_code, rate, negotiated_type, tin, npis, ref_id).
    `remote` maps a location URL to its provider-reference document; other locations are unreachable."""
    remote = remote or {}
    refs: dict[str, list[dict] | None] = {}
    for ref in doc.get("provider_references", []):
        key = str(ref["provider_group_id"])
        if "provider_groups" in ref:
            refs[key] = ref["provider_groups"]
        else:
            found = remote.get(ref["location"])
            refs[key] = found["provider_groups"] if found else None
    rows, rejected = [], 0
    for item in doc["in_network"]:
        for rate in item["negotiated_rates"]:
            if "provider_groups" in rate:
                targets = [(None, g) for g in rate["provider_groups"]]
            else:
                targets = []
                for ref_id in rate["provider_references"]:
                    groups = refs.get(str(ref_id))
                    targets += [(str(ref_id), g) for g in groups] if groups else [(str(ref_id), None)]
            for price in rate["negotiated_prices"]:
                for ref_id, group in targets:
                    if group is None:
                        rejected += 1
                        continue
                    rows.append((item["billing_code"], float(price["negotiated_rate"]), price["negotiated_type"],
                                 _tin(group["tin"]), tuple(sorted(set(group["npi"]))), ref_id))
    return rows, rejected
