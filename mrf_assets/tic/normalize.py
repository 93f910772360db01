"""Turn in-network items into rows of `rates`, `providers`, `organizations` and `rejects`.

`rates` holds one row per item x negotiated_rate x negotiated_price and names its provider set; the
full grain (x provider group) is `rates` joined to `provider_sets`, and it is the grain counted: a
price whose provider group cannot be resolved gives a `rejects` row per such group, with the reason, so
for every file: expected rows (prices x their provider groups) = rows written + rejected + filtered.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from mrf_assets.tic.ids import redact_url, stable_uuid
from mrf_assets.tic.provider_sets import ProviderSets
from mrf_assets.tic.seen import SeenIds, SeenKeys, listing_key
from mrf_assets.tic.tables import ORGANIZATIONS, PROVIDERS, RATES, REJECTS, Columns
from mrf_assets.tic.values import (INT64, coerce_npi, id_text, normalize_tin, number, place_of_service, record_json,
                                  text, text_list)

BATCH_ROWS = 50_000
_ITEM_TEXT = ("billing_code", "billing_code_type", "billing_code_type_version",
              "negotiation_arrangement", "name", "description", "severity_of_illness")
_PRICE_TEXT = ("negotiated_type", "expiration_date", "billing_class", "setting", "additional_information")


class Rejected(Exception):
    """A record that cannot be normalized; the message is the reason stored in `rejects`."""


@dataclass(frozen=True)
class FileContext:
    payer: str
    month: str
    file_id: str
    schema_version: str | None = None
    last_updated_on: str | None = None


@dataclass(frozen=True)
class Target:
    """One provider group a price fans out to, or the reason it could not be resolved."""
    group_uuid: bytes | None  # 16-byte UUIDs
    org_uuid: bytes | None
    reference_id: str | None = None
    failure: str | None = None


class Normalizer:
    """Normalizes one file. `seen_groups`/`seen_orgs`/`seen_sets` are shared across the files of a
    partition so a provider group, an organization's name or a provider set is written once; the caller merges
    `new_*` (and `sets.new`) into them on success."""

    def __init__(self, ctx: FileContext, fetch_remote: Callable[[str], list[dict]],
                 seen_groups: SeenIds, seen_orgs: SeenIds, seen_sets: SeenKeys):
        self.ctx = ctx
        self.fetch_remote = fetch_remote
        self.seen_groups, self.seen_orgs = seen_groups, seen_orgs
        self.new_groups, self.new_orgs = SeenIds(), SeenIds()
        self._checked: set[bytes] = set()  # ids the reference rules met in this file: asked once each
        self.references: dict[str, list[Target]] = {}
        self._org_uuids: dict[tuple, bytes] = {}
        self._named: set[tuple[bytes, str | None]] = set()  # (organization, business name) pairs met
        self.counts: Counter = Counter()
        self.rates, self.providers = Columns(RATES), Columns(PROVIDERS)
        self.orgs, self.rejects = Columns(ORGANIZATIONS), Columns(REJECTS)
        self.sets = ProviderSets(seen_sets)
        self.lock = threading.RLock()  # the fast path flattens batches on several threads
        self.reject_tables: list[pa.Table] = []  # rejects built column-wise (fast path)
        self.provider_tables: list[pa.Table] = []  # provider groups resolved column-wise (fast path)
        self.org_tables: list[pa.Table] = []  # and their organizations

    # provider groups -------------------------------------------------------------------------
    def _group(self, group, networks: list[str], reference_id: str | None) -> Target:
        if not isinstance(group, dict) or not isinstance(group.get("tin"), dict):
            return Target(None, None, reference_id, "provider group has no tin object")
        npis = group.get("npi")
        if not isinstance(npis, list):
            return Target(None, None, reference_id, "provider group npi is not a list")
        tin = group["tin"]
        tin_type = (text(tin.get("type")) or "").strip().lower() or None
        tin_value = normalize_tin(tin_type, tin.get("value"))
        org_uuid = self._org_uuids.get((tin_type, tin_value))
        if org_uuid is None:  # a few TINs own thousands of groups: one uuid5 each
            org_uuid = self._org_uuids[(tin_type, tin_value)] = stable_uuid("org", tin_type, tin_value)
        if all(type(n) is int and n in INT64 for n in npis):  # the common case, without coercing NPI by NPI
            npi_values, invalid = sorted(set(npis)), 0
        else:
            coerced = [coerce_npi(n) for n in npis]
            npi_values = sorted({n for n in coerced if n is not None})
            invalid = coerced.count(None)
        group_uuid = stable_uuid("group", org_uuid, *npi_values, "invalid", invalid, "networks", *networks)
        name = text(tin.get("business_name"))
        if (org_uuid, name) not in self._named:
            self._named.add((org_uuid, name))
            # each name a TIN is given is written once; the partition's merge keeps one (merge_organizations)
            listing = listing_key(org_uuid, name)
            if listing not in self.seen_orgs and listing not in self.new_orgs:
                self.new_orgs.add(listing)
                self.orgs.append(organization_uuid=org_uuid, tin_type=tin_type, tin_value=tin_value,
                                 business_name=name)
        if group_uuid not in self._checked:
            self._checked.add(group_uuid)
            if group_uuid not in self.seen_groups and group_uuid not in self.new_groups:
                self.new_groups.add(group_uuid)
                self.counts["provider_groups"] += 1
                # An NPI that is not a number is kept as a null row so the accuracy check sees it.
                self.providers.extend({"npi": npi_values + [None] * invalid}, provider_group_uuid=group_uuid,
                                      organization_uuid=org_uuid, network_name=networks or None)
        return Target(group_uuid, org_uuid, reference_id)

    def add_reference(self, ref: dict) -> None:
        key = id_text(ref.get("provider_group_id")) if isinstance(ref, dict) else None
        if key is None:
            self._reject("provider_references", "reference", "provider reference has no provider_group_id",
                         0, ref)
            return
        networks = [text(n) for n in ref.get("network_name") or [] if n is not None]
        if "provider_groups" in ref:
            groups = ref["provider_groups"]
        elif "location" in ref:
            self.counts["remote_references"] += 1
            location = text(ref["location"]) or ""
            try:
                groups = self.fetch_remote(location)
            except Exception as exc:  # the reason goes to rejects with every rate that uses it
                self.counts["remote_references_failed"] += 1
                reason = f"provider reference {key}: location {redact_url(location)} could not be fetched: {exc}"
                self.references[key] = [Target(None, None, key, reason)]
                return
        else:
            groups = None
        if not isinstance(groups, list) or not groups:
            self.references[key] = [Target(None, None, key, f"provider reference {key} has no provider groups")]
            return
        self.references[key] = [self._group(g, networks, key) for g in groups]

    def _targets(self, rate: dict) -> list[Target]:
        if rate.get("provider_groups") is not None:  # a null counts as absent (as in the Arrow path)
            groups = rate["provider_groups"]
            if not isinstance(groups, list) or not groups:
                return [Target(None, None, None, "negotiated rate has an empty provider_groups list")]
            return [self._group(g, [], None) for g in groups]
        refs = rate.get("provider_references")
        if not isinstance(refs, list) or not refs:
            return [Target(None, None, None, "negotiated rate has neither provider_groups nor provider_references")]
        targets: list[Target] = []
        for ref in refs:
            key = id_text(ref)
            found = self.references.get(key)
            targets.extend(found or [Target(None, None, key, f"provider reference {key} is not defined in the file")])
        return targets

    # items -----------------------------------------------------------------------------------
    def add_item(self, item, index: int, rate_offset: int = 0, new_item: bool = True) -> None:
        """One in-network item, or (new_item=False) a further chunk of a giant item's negotiated rates,
        numbered on from `rate_offset`."""
        self.counts["items"] += 1 if new_item else 0
        where = f"in_network[{index}]"
        try:
            fields = self._item_fields(item)
        except Rejected as exc:
            if new_item:
                self.counts["items_rejected"] += 1
                self._reject(where, "item", str(exc), 0, item)
            return
        for r, rate in enumerate(item["negotiated_rates"], start=rate_offset):
            rate_where = f"{where}.negotiated_rates[{r}]"
            prices = rate.get("negotiated_prices") if isinstance(rate, dict) else None
            if not isinstance(prices, list) or not prices:
                self._reject(rate_where, "rate", "negotiated rate has no negotiated_prices list", 0, rate)
                continue
            targets = self._targets(rate)
            for p, price in enumerate(prices):
                self._add_price(fields, price, targets, f"{rate_where}.negotiated_prices[{p}]")

    def _item_fields(self, item) -> dict:
        if not isinstance(item, dict):
            raise Rejected("in-network item is not an object")
        fields = {k: text(item.get(k)) for k in _ITEM_TEXT}
        missing = [k for k in ("billing_code", "billing_code_type") if not fields[k]]
        if missing:
            raise Rejected(f"in-network item has no {' or '.join(missing)}")
        if not isinstance(item.get("negotiated_rates"), list):
            raise Rejected("in-network item has no negotiated_rates list")
        return fields

    def _add_price(self, fields: dict, price, targets: list[Target], where: str) -> None:
        self.counts["prices"] += 1
        self.counts["expected_rows"] += len(targets)
        if not isinstance(price, dict):
            self._reject(where, "price", "negotiated price is not an object", len(targets), price)
            return
        rate = number(price.get("negotiated_rate"))
        if rate is None:
            self._reject(where, "price", f"negotiated_rate is not a number: {price.get('negotiated_rate')!r}",
                         len(targets), price)
            return
        for target in targets:
            if target.failure:
                self._reject(where, "price", target.failure, 1, price)
        members = tuple((t.reference_id, t.group_uuid, t.org_uuid) for t in targets if not t.failure)
        if not members:
            return
        self.rates.append(
            payer=self.ctx.payer, month=self.ctx.month, file_id=self.ctx.file_id,
            **fields, **{k: text(price.get(k)) for k in _PRICE_TEXT}, negotiated_rate=rate,
            service_code=place_of_service(price.get("service_code")),
            billing_code_modifier=text_list(price.get("billing_code_modifier")),
            provider_set_uuid=self.sets.one(members), last_updated_on=self.ctx.last_updated_on,
            schema_version=self.ctx.schema_version,
        )
        self.counts["rows"] += len(members)

    def _reject(self, where: str, level: str, reason: str, rows: int, record) -> None:
        self.counts["rows_rejected"] += rows
        self.rejects.append(payer=self.ctx.payer, month=self.ctx.month, file_id=self.ctx.file_id,
                            position=where, level=level, reason=reason, rows=rows, record=record_json(record))
