"""What an ingest logs of its files: a line as each file ends, saying what it held, what was rejected whole
and what the fast path could not do its own way, and progress lines while a long download or parse is
under way, so that a 20 GB file shows it is moving."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

PROGRESS_SECONDS = 60.0  # a download or file that takes longer logs how far it has got this often


def progress_log(log: logging.Logger | logging.LoggerAdapter, seconds: float,
                 message: Callable[..., str]) -> Callable[..., None]:
    """A callback that logs message(seconds so far, *its arguments) at most once every `seconds`."""
    started = last = time.monotonic()

    def report(*args) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= seconds:
            last = now
            log.info(message(max(now - started, 1e-6), *args))
    return report


def log_file(log: logging.Logger | logging.LoggerAdapter, stat: dict) -> None:
    """A file's end, from its file_stats row."""
    if stat["status"] != "ok":
        log.error(f"file failed: {stat['url']}: {stat['error']}")
        return
    # an item rejected whole has no rows, so "0 rejected" alone would hide its record in rejects
    notes = [f"{stat['items_rejected']:,} items rejected (see rejects)"] if stat.get("items_rejected") else []
    # what the fast path could not do its own way is said, not only counted in file_stats
    notes += [f"{stat['items_fallback']:,} items through the reference rules ({stat['fallback_reason']})"
              ] if stat.get("items_fallback") else []
    notes += [f"{stat['items_giant']:,} giant items read rate by rate"] if stat.get("items_giant") else []
    notes += ["read twice: provider_references come after in_network"] if stat.get("passes") == 2 else []
    log.info(f"file ok: {stat['url']}: {stat['items']:,} items, {stat['rows']:,} rows, "
             f"{stat['rows_rejected']:,} rejected, {stat['mb_per_s']} MB/s ({stat.get('parser')})"
             + "".join(f"; {note}" for note in notes))
