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
On S3 it is a lease object at the same path (s3_lease.py): a crashed run's lock expires
MRF_LOCK_LEASE_SECONDS (300) after its last renewal.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mrf_assets.tic.lake import Lake

LOCKS = "_locks"  # beside the tables: readers go to <root>/<table>/..., and Hive tools skip "_" names


@contextmanager
def partition_lock(lake: Lake, month: str, payer: str, holder: str, log: logging.Logger | None = None
                   ) -> Iterator[None]:
    """Hold the partition's lock; if another run holds it, say so and wait for it. `holder` names this
    run for whoever waits next (e.g. "run 1a2b...")."""
    log = log or logging.getLogger(__name__)
    where = lake.partition_dir(LOCKS, month, payer) + ".lock"
    if not lake.local:
        with _s3_lease(lake, where, month, payer, holder, log):
            yield
        return
    path = Path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            other = lock.read().strip() or "another run"
            _waiting(log, month, payer, other)
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(_described(holder))
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _s3_lease(lake: Lake, where: str, month: str, payer: str, holder: str, log: logging.Logger) -> Iterator[None]:
    from mrf_assets.tic.s3_lease import LeaseLost, S3Lease  # here: local runs need not load botocore

    bucket, _, key = where.partition("/")
    lease = S3Lease(lake.s3.client(attempts=3), bucket, key, _described(holder))
    lease.acquire(waiting=lambda other: _waiting(log, month, payer, other),
                  took_over=lambda other: log.warning(
                      f"partition {month}|{payer}: took over the lock of {other}, not renewed for "
                      f"{lease.lease:.0f} s (that run is gone)"))
    try:
        yield
    except BaseException:
        with suppress(LeaseLost):  # the run's own error says more
            lease.release()
        raise
    lease.release()


def _described(holder: str) -> str:
    """What a lock says about its holder, for whoever waits for it."""
    since = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {since})"


def _waiting(log: logging.Logger, month: str, payer: str, other: str) -> None:
    log.warning(f"partition {month}|{payer} is being written by {other}; waiting for it to finish"
                " (this run then replaces the partition)")
