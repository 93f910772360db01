"""One writer per lake partition (month x payer) at a time.

A partition is published by its manifest, and publishing removes every part the manifest does not list:
a second run writing the same partition at the same time would have its parts removed under it, and
could publish a manifest naming parts that are gone. Dagster's run queue keeps a payer's runs apart,
but a run launched from the command line (`dagster asset materialize`, `mrf materialize`, `mrf
ingest-file`) does not go through the queue, while the daemon's sensors may request the same partition.
So a run holds the partition's lock from its first part to its last read of the published tables; a
second run waits for it, then replaces the partition.

On a local lake the lock is an flock on <root>/_locks/month=<month>/payer=<slug>.lock: the kernel
releases it when its process ends, however it ends, so a crashed run never leaves the partition locked.
S3 has no such lock; there only the run queue keeps runs of one payer apart.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mrf_assets.tic.lake import Lake

LOCKS = "_locks"  # beside the tables: readers go to <root>/<table>/..., and Hive tools skip "_" names


@contextmanager
def partition_lock(lake: Lake, month: str, payer: str, holder: str, log: logging.Logger | None = None
                   ) -> Iterator[None]:
    """Hold the partition's lock; if another run holds it, say so and wait for it. `holder` names this
    run for whoever waits next (e.g. "run 1a2b...")."""
    if not lake.local:
        yield
        return
    path = Path(lake.base) / LOCKS / f"month={month}" / f"payer={payer}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            other = lock.read().strip() or "another run"
            (log or logging.getLogger(__name__)).warning(
                f"partition {month}|{payer} is being written by {other}; waiting for it to finish"
                " (this run then replaces the partition)")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        since = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        lock.write(f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {since})")
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
            fcntl.flock(lock, fcntl.LOCK_UN)
