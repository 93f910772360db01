"""What the platform knows about one payer. No Dagster import: unit-tested on its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class RegistryError(ValueError):
    """payers.yaml is invalid; the message names the payer and the key."""


@dataclass(frozen=True)
class Discovery:
    strategy: str
    url: str


@dataclass(frozen=True)
class Thresholds:
    completeness: float = 0.80
    accuracy: float = 0.85
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
    url_rewrites: dict[str, str] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def toc_url(self, month: dt.date) -> str:
        """The ToC URL for a month: the template's date fields take the posting day of that month."""
        day = min(self.posting_day, _days_in_month(month))
        posted = month.replace(day=day)
        return self.resolve(self.discovery.url.format(date=posted, year=posted.year,
                                                      month=posted.month, day=posted.day))

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


def _days_in_month(month: dt.date) -> int:
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (nxt - dt.timedelta(days=1)).day
