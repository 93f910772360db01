"""Load and validate the payer registry (payers.yaml)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from payer_handlers.base import SHIMS, STRATEGIES, Discovery, Payer, RegistryError, Thresholds

DEFAULT_REGISTRY = Path(__file__).with_name("payers.yaml")
REGISTRY_ENV = "MRF_PAYERS_FILE"

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PAYER_KEYS = {
    "slug", "name", "enabled", "posting_day", "discovery", "headers", "proxy", "url_rewrites", "shims",
    "thresholds",
}
# Which discovery keys each strategy takes; "url" is required by all.
_DISCOVERY_KEYS = {
    "dated": {"url"},
    "poll": {"url", "variants", "days"},
    "listing": {"url", "include", "plan"},
    "fixed": {"url"},
}


def registry_path() -> Path:
    return Path(os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).resolve()


def load_registry(path: str | os.PathLike | None = None) -> dict[str, Payer]:
    """Payers by slug, in file order. Raises RegistryError naming the payer and key at fault."""
    path = Path(path).resolve() if path else registry_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(f"payer registry {path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"payer registry {path}: invalid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("payers"), list):
        raise RegistryError(f"payer registry {path}: expected a mapping with a 'payers' list")
    defaults = doc.get("defaults") or {}
    payers: dict[str, Payer] = {}
    for index, entry in enumerate(doc["payers"]):
        payer = _parse_payer(entry, defaults, path.parent, f"{path}: payers[{index}]")
        if payer.slug in payers:
            raise RegistryError(f"{path}: payer '{payer.slug}': slug is used twice")
        payers[payer.slug] = payer
    if not payers:
        raise RegistryError(f"payer registry {path}: no payers")
    return payers


def _parse_payer(entry: Any, defaults: dict, base_dir: Path, where: str) -> Payer:
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: expected a mapping, got {type(entry).__name__}")
    slug = entry.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise RegistryError(f"{where}: key 'slug': {slug!r} is not a lower-case slug ([a-z0-9-])")
    where = f"{where} (payer '{slug}')"
    unknown = set(entry) - _PAYER_KEYS
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_PAYER_KEYS)}")

    def get(key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = entry.get(key, defaults.get(key, default))
        if value is not None and not isinstance(value, kind):
            raise RegistryError(f"{where}: key '{key}': expected {_kind_name(kind)}, got {value!r}")
        return value

    posting_day = get("posting_day", int, 1)
    if not 1 <= posting_day <= 31:
        raise RegistryError(f"{where}: key 'posting_day': {posting_day} is not a day of month")
    discovery = _parse_discovery(get("discovery", dict), where)
    headers = {**(defaults.get("headers") or {}), **(get("headers", dict) or {})}
    proxy = get("proxy", str)
    if proxy and urlsplit(proxy).scheme not in ("http", "https", "socks5", "socks5h"):
        raise RegistryError(f"{where}: key 'proxy': {proxy!r} is not an http(s):// or socks5:// URL")
    rewrites = get("url_rewrites", dict) or {}
    shims = _parse_shims(entry.get("shims"), where)
    thresholds = {**(defaults.get("thresholds") or {}), **(get("thresholds", dict) or {})}
    waived = thresholds.pop("waived_rules", None) or []
    if not isinstance(waived, list) or not all(isinstance(r, str) for r in waived):
        raise RegistryError(f"{where}: key 'thresholds.waived_rules': expected a list of rule names")
    for name, value in thresholds.items():
        bounds = {"completeness": (0, 1), "accuracy": (0, 1), "volume_change": (0, 100), "toc_grace_days": (0, 31)}
        if name not in bounds:
            raise RegistryError(f"{where}: key 'thresholds.{name}': unknown; known: {sorted(bounds)} and waived_rules")
        low, high = bounds[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise RegistryError(f"{where}: key 'thresholds.{name}': {value!r} is not between {low} and {high}")
    thresholds["waived_rules"] = tuple(waived)
    return Payer(
        slug=slug,
        name=get("name", str) or slug,
        enabled=bool(get("enabled", bool, True)),
        posting_day=posting_day,
        discovery=discovery,
        headers={str(k): str(v) for k, v in headers.items()},
        proxy=proxy,
        shims=shims,
        url_rewrites={str(k): str(v) for k, v in rewrites.items()},
        thresholds=Thresholds(**thresholds),
        base_dir=base_dir,
    )


def _parse_discovery(discovery: dict | None, where: str) -> Discovery:
    if not discovery:
        raise RegistryError(f"{where}: key 'discovery' is required")
    strategy = discovery.get("strategy")
    if strategy not in STRATEGIES:
        raise RegistryError(f"{where}: key 'discovery.strategy': {strategy!r} is not one of {list(STRATEGIES)}")
    unknown = set(discovery) - _DISCOVERY_KEYS[strategy] - {"strategy"}
    if unknown:
        raise RegistryError(f"{where}: key 'discovery': {sorted(unknown)} not used by strategy '{strategy}' "
                            f"(it takes {sorted(_DISCOVERY_KEYS[strategy])})")
    url = discovery.get("url")
    if not isinstance(url, str) or not url:
        raise RegistryError(f"{where}: key 'discovery.url' is required (a URL template or a path)")
    templates = [url, *discovery.get("variants", [])]
    for template in templates:
        try:
            template.format(date=dt.date(2026, 1, 2), year=2026, month=1, day=2)
        except (KeyError, ValueError, IndexError, AttributeError) as exc:
            raise RegistryError(f"{where}: key 'discovery': URL template {template!r} is invalid ({exc}); "
                                "fields: {date:%Y-%m-%d}, {year}, {month:02d}, {day:02d}") from exc
    if strategy == "fixed" and url.format(date=dt.date(2026, 1, 2), year=2026, month=1, day=2) != url:
        raise RegistryError(f"{where}: key 'discovery.url': strategy 'fixed' is for undated URLs; use 'dated'")
    days = tuple(discovery.get("days") or ())
    if any(not isinstance(d, int) or not 1 <= d <= 31 for d in days):
        raise RegistryError(f"{where}: key 'discovery.days': expected days of month (1-31), got {list(days)}")
    include = discovery.get("include")
    if strategy == "listing":
        if not isinstance(include, str):
            raise RegistryError(f"{where}: key 'discovery.include' is required for 'listing' (a regex template)")
        try:
            re.compile(include.format(date=dt.date(2026, 1, 2), year=2026, month=1, day=2))
        except (re.error, KeyError, ValueError, IndexError) as exc:
            raise RegistryError(f"{where}: key 'discovery.include': {include!r} is not a valid regex template "
                                f"({exc}); write literal braces as {{{{ }}}}") from exc
    plan = discovery.get("plan")
    if plan is not None and not isinstance(plan, dict):
        raise RegistryError(f"{where}: key 'discovery.plan': expected a mapping of plan fields")
    return Discovery(strategy=strategy, url=url, variants=tuple(discovery.get("variants") or ()), days=days,
                     include=include, plan={str(k): str(v) for k, v in (plan or {}).items()} or None)


def _parse_shims(value: Any, where: str) -> dict[str, object]:
    """Shims as a list of names, or a mapping name -> parameter (e.g. missing_version: "1.0.0")."""
    if value is None:
        return {}
    shims = {name: True for name in value} if isinstance(value, list) else value
    if not isinstance(shims, dict):
        raise RegistryError(f"{where}: key 'shims': expected a list of shim names or a mapping")
    unknown = set(shims) - set(SHIMS)
    if unknown:
        raise RegistryError(f"{where}: key 'shims': unknown shim(s) {sorted(unknown)}; known: {sorted(SHIMS)}")
    if "missing_version" in shims and not isinstance(shims["missing_version"], str):
        raise RegistryError(f"{where}: key 'shims.missing_version': give the version to assume, e.g. \"1.0.0\"")
    return dict(shims)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"dict": "a mapping", "str": "a string", "int": "an integer", "bool": "true/false"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)
