"""Inline provider groups on the fast path: each distinct group of a file is resolved once, however many
batches repeat it, and the tables still equal the reference path's."""

from __future__ import annotations

import json
from collections import Counter

from mrf_assets.tic.fast import stream, targets
from mrf_assets.tic.fast.targets import InlineGroups
from tests.tic.test_fast_path import assert_same, ingest

GROUPS = [{"npi": [1730666900, 1285613760], "tin": {"type": "ein", "value": "12-3456789"}},
          {"npi": [1234567893], "tin": {"type": "npi", "value": "1234567893", "business_name": "Clinic"}},
          {"npi": [1111111111]}]  # no tin: rejected, once per price, in every batch


def inline_file(path, groups_of=lambda i: GROUPS[i % 3:] + GROUPS[:i % 3], items: int = 30):
    price = {"negotiated_type": "negotiated", "negotiated_rate": 12.5, "expiration_date": "9999-12-31",
             "billing_class": "professional"}
    doc = {"reporting_entity_name": "x", "last_updated_on": "2026-11-01", "version": "1.0.0", "in_network": [
        {"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "CPT", "billing_code_type_version": "2024",
         "billing_code": str(27000 + i), "description": "d",
         "negotiated_rates": [{"provider_groups": groups_of(i), "negotiated_prices": [price]}]}
        for i in range(items)]}
    path.write_text(json.dumps(doc))
    return path


def count_groups(monkeypatch) -> Counter:
    """How many times each inline group (by its members) is resolved."""
    calls: Counter = Counter()
    resolve = targets.resolve

    def counting(table):
        for groups in table.column("provider_groups").to_pylist():
            calls[json.dumps(groups, sort_keys=True)] += 1
        return resolve(table)

    monkeypatch.setattr(targets, "resolve", counting)
    return calls


def test_a_group_repeated_in_every_batch_is_resolved_once_per_file(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "BATCH_BYTES", 1500)  # three items (553 bytes each) a batch: ten batches
    path = inline_file(tmp_path / "inline.json")
    assert_same(tmp_path / "same", path)
    calls = count_groups(monkeypatch)
    _, [stat] = ingest(tmp_path / "counted", "fast", path)
    assert stat["items"] == 30 and stat["rows"] == 60 and stat["rows_rejected"] == 30
    assert sorted(calls.values()) == [1, 1, 1]


def test_a_file_of_ever_new_groups_keeps_a_bounded_cache(tmp_path, monkeypatch):
    """Past its bound the cache starts over: a group seen before it did is resolved again, and recorded once."""
    monkeypatch.setattr(stream, "BATCH_BYTES", 1500)
    monkeypatch.setattr(InlineGroups, "MAX_BYTES", 0)
    group = lambda n: {"npi": [1000000000 + n], "tin": {"type": "ein", "value": f"{10 + n % 7}-1234567"}}  # noqa: E731
    path = inline_file(tmp_path / "inline.json", lambda i: [group(i), group(i // 10)])
    assert_same(tmp_path / "same", path)
    calls = count_groups(monkeypatch)
    ingest(tmp_path / "counted", "fast", path)
    assert max(calls.values()) > 1
