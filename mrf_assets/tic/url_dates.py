"""Dates written into payers' URLs and file names, and the URL templates (`{date:%Y-%m-%d}`) that make a
month's URL from its posting date (payers.yaml's discovery templates)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from mrf_assets.tic.ids import SIGNATURE_PARAMS

_YEAR, _MONTH, _DAY = r"(20\d\d)", r"(0[1-9]|1[0-2])", r"(0[1-9]|[12]\d|3[01])"
# The most specific first: a day-less match must not take the year and month of a whole date.
_FORMATS = [
    (re.compile(rf"(?<!\d){_YEAR}-{_MONTH}-{_DAY}(?!\d)"), "%Y-%m-%d"),
    (re.compile(rf"(?<!\d){_YEAR}_{_MONTH}_{_DAY}(?!\d)"), "%Y_%m_%d"),
    (re.compile(rf"(?<!\d){_YEAR}{_MONTH}{_DAY}(?!\d)"), "%Y%m%d"),
    (re.compile(rf"(?<!\d){_YEAR}-{_MONTH}(?![\d-])"), "%Y-%m"),
    (re.compile(rf"(?<!\d){_YEAR}_{_MONTH}(?![\d_])"), "%Y_%m"),
]


@dataclass(frozen=True)
class DatedText:
    template: str            # the text with each date replaced by its {date:...} field (braces escaped)
    date: dt.date | None     # the date written (day 1 when only a month is)
    has_day: bool            # a whole date, not only a month, is written


def dated_text(text: str) -> DatedText:
    """The dates in `text` as template fields. Dates that disagree (two months, or two days) are left as
    they are: no one posting date makes such a text."""
    found: list[tuple[int, int, str, dt.date, bool]] = []
    for pattern, fmt in _FORMATS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, *_ in found):
                continue
            year, month, *day = (int(g) for g in match.groups())
            try:
                date = dt.date(year, month, day[0] if day else 1)
            except ValueError:  # 2025-02-31: digits, not a date
                continue
            found.append((match.start(), match.end(), fmt, date, bool(day)))
    months = {(d.year, d.month) for *_, d, _ in found}
    days = {d.day for *_, d, has_day in found if has_day}
    if not found or len(months) > 1 or len(days) > 1:
        return DatedText(_escape(text), None, False)
    out, at = [], 0
    for start, end, fmt, _, _ in sorted(found):
        out += [_escape(text[at:start]), "{date:" + fmt + "}"]
        at = end
    out.append(_escape(text[at:]))
    date = next((d for *_, d, has_day in found if has_day), found[0][3])
    return DatedText("".join(out), date, bool(days))


def dated_url(url: str) -> tuple[DatedText, bool]:
    """dated_text of a URL without its signature (a signed URL expires, and its numbers are not dates of
    the posting), and whether it had one."""
    base, mark, query = url.partition("?")
    kept = [p for p in query.split("&") if p.partition("=")[0].lower() not in SIGNATURE_PARAMS] if mark else []
    signed = bool(mark) and len(kept) < len([p for p in query.split("&") if p])
    return dated_text(base + ("?" + "&".join(kept) if kept else "")), signed


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
