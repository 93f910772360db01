"""Stream an in-network rates file with ijson: header, provider references, then items.

Memory stays bounded by one in-network item: items are built one at a time by ijson's C backend.
Provider references may come before or after `in_network`. When they come first (the usual case)
they are collected during the header scan; when they come after, a second pass reads them before the
items pass, so every rate can be joined to its provider groups as it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import ijson
from ijson.common import ObjectBuilder

from mrf_assets.tic.sources import SourceError

HEADER_KEYS = frozenset({
    "reporting_entity_name", "reporting_entity_type", "last_updated_on", "version",
    "plan_name", "plan_id_type", "plan_id", "plan_market_type", "issuer_name", "plan_sponsor_name",
})
_SCALARS = frozenset({"string", "number", "boolean", "null"})
REFERENCE_PREFIX = "provider_references.item"


@dataclass
class Preamble:
    header: dict = field(default_factory=dict)
    references_read: bool = False  # True when every provider reference was seen before in_network


def scan_preamble(stream: BinaryIO, on_reference: Callable[[dict], None]) -> Preamble:
    """Read top-level fields up to the `in_network` key, handing each provider reference over."""
    preamble = Preamble()
    builder: ObjectBuilder | None = None
    saw_references = False
    for prefix, event, value in ijson.parse(stream):
        if builder is not None:
            builder.event(event, value)
            if prefix == REFERENCE_PREFIX and event == "end_map":
                on_reference(builder.value)
                builder = None
            continue
        if prefix == "" and event == "start_array":
            raise SourceError("top-level JSON is an array, not an in-network rates object")
        if prefix == REFERENCE_PREFIX and event == "start_map":
            builder = ObjectBuilder()
            builder.event(event, value)
            saw_references = True
        elif prefix in HEADER_KEYS and event in _SCALARS:
            preamble.header[prefix] = value
        elif prefix == "" and event == "map_key" and value == "in_network":
            preamble.references_read = saw_references
            return preamble
    raise SourceError("no in_network array: this is not an in-network rates file")


def iter_references(stream: BinaryIO) -> Iterator[dict]:
    return ijson.items(stream, REFERENCE_PREFIX)


def iter_items(stream: BinaryIO) -> Iterator[dict]:
    return ijson.items(stream, "in_network.item")
