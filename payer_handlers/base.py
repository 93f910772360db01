"""What the platform knows about one payer. No Dagster import: unit-tested on its own."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class RegistryError(ValueError):
    """payers.yaml is invalid; the message names the payer and the key."""


STRATEGIES = ("dated", "poll", "listing", "fixed")

# ToC deviations a payer's entry may declare. Without its shim, each of them fails the ToC with a
# message that names the shim, so a payer's known quirks are written down, never silently absorbed.
SHIMS = {
    "reporting_plans_object": "reporting_plans given as one object instead of an array",
    "allowed_amount_file_array": "allowed_amount_file given as an array instead of an object",
    "in_network_files_null": "in_network_files: null (read as no files)",
    "plan_id_type_case": "upper-case plan_id_type (EIN/HIOS) lower-cased",
    "us_dates": "MM/DD/YYYY dates rewritten as YYYY-MM-DD",
    "missing_dates": "a missing last_updated_on taken from the date the ToC was posted",
    "missing_version": "a missing version set to the given value (e.g. '1.0.0')",
    "utf8_bom": "a UTF-8 byte-order mark before the JSON",
    "toc_in_zip": "the ToC delivered inside a zip archive",
}


@dataclass(frozen=True)
class Discovery:
    """How to find a month's ToC. `url` is a template: {date:%Y-%m-%d}, {year}, {month:02d}, {day:02d}."""

    strategy: str
    url: str
    variants: tuple[str, ...] = ()     # poll: other URL templates tried for every candidate date
    days: tuple[int, ...] = ()         # poll: candidate days of month (default: every day)
    include: str | None = None         # listing: regex template selecting this month's files
    plan: dict[str, str] | None = None  # listing: the plan the built ToC reports


@dataclass(frozen=True)
class Thresholds:
    completeness: float = 0.80
    accuracy: float = 0.85
    volume_change: float = 0.5   # month-over-month row-count change beyond +/-50 % warns
    toc_grace_days: int = 3      # a month's ToC still missing this many days after posting day warns
    # Accuracy rules that do not count against this payer's score (still reported), for data whose
    # known defect is accepted, e.g. the placeholder NPIs of the CMS examples.
    waived_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Payer:
    slug: str
    name: str
    discovery: Discovery
    base_dir: Path
    enabled: bool = True
    posting_day: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    proxy: str | None = None
    url_rewrites: dict[str, str] = field(default_factory=dict)
    shims: dict[str, object] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def posting_date(self, month: dt.date) -> dt.date:
        """The posting day in that month (clamped to the month's last day)."""
        return month.replace(day=min(self.posting_day, calendar.monthrange(month.year, month.month)[1]))

    def format_url(self, template: str, day: dt.date) -> str:
        return self.resolve(template.format(date=day, year=day.year, month=day.month, day=day.day))

    def toc_url(self, month: dt.date) -> str:
        """The ToC URL on the posting day (the `dated` strategy)."""
        return self.format_url(self.discovery.url, self.posting_date(month))

    def resolve(self, url: str) -> str:
        """Apply url_rewrites (longest prefix first), then make a relative path absolute."""
        for prefix in sorted(self.url_rewrites, key=len, reverse=True):
            if url.startswith(prefix):
                url = self.url_rewrites[prefix] + url[len(prefix):]
                break
        if urlsplit(url).scheme in ("http", "https", "file", "s3"):
            return url
        path = Path(url)
        return (path if path.is_absolute() else self.base_dir / path).resolve().as_uri()
