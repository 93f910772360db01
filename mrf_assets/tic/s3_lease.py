"""A partition's lock on S3: a lease object kept alive by its holder, written with S3's conditional writes.

S3 has no flock, and a run that crashes must not hold its partition for ever. So the lock is an object
that is created only if it is absent (If-None-Match: *) and that its holder rewrites every lease/5 seconds,
each time only if it is still the object the holder last wrote (If-Match). A lock that has not been
rewritten for a whole lease, by the store's own clock (the object's Last-Modified against the Date of
the answer, so that no machine's clock matters), belongs to a run that is gone: the next run takes it
over with a write conditional on that very object, so of two runs taking it at once only one wins.
The holder deletes the lock when it is done, if it is still its own.

A holder that cannot rewrite its lock for a whole lease (the store unreachable, the process frozen)
may have lost the partition to another run. It fails when it leaves the lock, naming what happened,
rather than let its run look like the partition's only writer.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from botocore.exceptions import BotoCoreError, ClientError

LEASE_ENV = "MRF_LOCK_LEASE_SECONDS"
LEASE_SECONDS = 300.0  # how long a lock outlives its last renewal: a crashed run's partition waits this long
POLL_SECONDS = 5.0  # how often a waiting run looks at the lock


class LeaseLost(RuntimeError):
    """The holder could not keep its lock alive: another run may have written the partition meanwhile."""


def lease_seconds() -> float:
    value = os.environ.get(LEASE_ENV) or str(LEASE_SECONDS)
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not (0 < seconds < math.inf):
        raise ValueError(f"{LEASE_ENV}={value!r}: expected a number of seconds above 0")
    return seconds


class S3Lease:
    """The lock object s3://<bucket>/<key>, held between `acquire` and `release`."""

    def __init__(self, client, bucket: str, key: str, holder: str, lease: float | None = None,
                 poll: float = POLL_SECONDS):
        """`holder` is what the lock says to whoever waits for it."""
        self.client, self.bucket, self.key, self.holder = client, bucket, key, holder
        self.lease = lease or lease_seconds()
        self.poll = min(poll, self.lease / 2)
        self._etag: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost: str | None = None

    def acquire(self, waiting: Callable[[str], None], took_over: Callable[[str], None]) -> None:
        """Create the lock, or wait for it to be released or to expire; `waiting` is told who holds it
        (once), `took_over` whose expired lock this run took."""
        told = False
        try:
            while True:
                if self._write(IfNoneMatch="*"):
                    break
                current = self._current()
                if current is None:  # released since: try again at once
                    continue
                etag, other, age = current
                if age >= self.lease:
                    if self._write(IfMatch=etag):
                        took_over(other)
                        break
                    continue
                if not told:
                    waiting(other)
                    told = True
                time.sleep(self.poll)
        except (ClientError, BotoCoreError) as exc:
            raise RuntimeError(f"cannot take the partition lock s3://{self.bucket}/{self.key}: {exc}") from exc
        self._renewer = threading.Thread(target=self._renew, name="mrf-lock-lease", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        """Stop renewing and delete the lock if it is still this run's; raises LeaseLost if it was lost."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.lost is None:
            try:
                try:
                    self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self._etag)
                except ClientError as exc:
                    if _code(exc) not in ("NotImplemented", "501"):
                        raise
                    # a store without conditional deletes: the lock was renewed moments ago, so it is this run's
                    self.client.delete_object(Bucket=self.bucket, Key=self.key)
            except (ClientError, BotoCoreError):
                pass  # no longer this run's lock, or the store is unreachable: the lease expires on its own
        if self.lost is not None:
            raise LeaseLost(self.lost)

    def _renew(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self.lease / 5):
            try:
                if self._write(IfMatch=self._etag):
                    renewed = time.monotonic()
                    continue
                self.lost = (f"the lock s3://{self.bucket}/{self.key} was taken by another run while this run "
                             f"held it (it could not renew it in time); the partition may have been replaced")
                return
            except (ClientError, BotoCoreError) as exc:
                if time.monotonic() - renewed >= self.lease:
                    self.lost = (f"the lock s3://{self.bucket}/{self.key} could not be renewed for {self.lease:.0f} s "
                                 f"({exc}); another run may have written the partition meanwhile")
                    return

    def _write(self, **condition: str) -> bool:
        """Write the lock if the condition holds; False if it does not (the lock is another's, or gone, or
        another write raced this one)."""
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.holder.encode(), **condition)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409", "404"):
                return False
            raise
        self._etag = answer["ETag"]
        return True

    def _current(self) -> tuple[str, str, float] | None:
        """The lock as it is: (its ETag, who holds it, seconds since it was written), or None if absent."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        holder = answer["Body"].read().decode("utf-8", "replace").strip() or "another run"
        now = parsedate_to_datetime(answer["ResponseMetadata"]["HTTPHeaders"]["date"])
        return answer["ETag"], holder, (now - answer["LastModified"]).total_seconds()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))
