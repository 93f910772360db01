"""One writer per lake partition on S3 (moto's server on loopback): a second run waits for the first and is
told who it is, a dead holder's lock expires and is taken over, a live holder keeps its lock past the
lease by renewing it, and a holder whose lock was taken fails instead of passing for the only writer."""

from __future__ import annotations

import logging
import threading
import time

import boto3
import pytest

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.partition_lock import partition_lock
from mrf_assets.tic.s3_lease import LEASE_ENV, LeaseLost
from tests.support.partition_locks import hold_in_thread, holding_process

LOG = logging.getLogger("test_s3_lease")
KEY = "lake/_locks/month=2026-11/payer=p.lock"


@pytest.fixture
def lake(s3_bucket, monkeypatch) -> Lake:
    monkeypatch.setenv(LEASE_ENV, "2")  # a waiting run looks every second
    return Lake(f"s3://{s3_bucket}/lake")


def _hold(lake: Lake, payer: str, holder: str, entered: threading.Event, leave: threading.Event | None = None,
          errors: list | None = None) -> threading.Thread:
    return hold_in_thread(lake, payer, holder, entered, LOG, leave, errors)


def _lock_text(bucket: str) -> str | None:
    client = boto3.client("s3")
    try:
        return client.get_object(Bucket=bucket, Key=KEY)["Body"].read().decode()
    except client.exceptions.NoSuchKey:
        return None


def test_a_second_writer_waits_for_the_first_and_is_told_who_holds_it(lake, s3_bucket, caplog):
    first_in, first_leave, second_in = threading.Event(), threading.Event(), threading.Event()
    first = _hold(lake, "p", "run first", first_in, first_leave)
    assert first_in.wait(10)
    assert _lock_text(s3_bucket).startswith("run first (pid ")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        second_leave = threading.Event()
        second = _hold(lake, "p", "run second", second_in, second_leave)
        assert not second_in.wait(1.5)  # held: the second run waits
        other = threading.Event()
        _hold(lake, "q", "run other", other).join(10)  # another partition is not held
        assert other.is_set()
        first_leave.set()
        assert second_in.wait(10)  # released: it goes on
        assert _lock_text(s3_bucket).startswith("run second (pid ")
        second_leave.set()
        first.join(10)
        second.join(10)
    waited = [r.getMessage() for r in caplog.records if r.name == LOG.name]
    assert len(waited) == 1 and "partition 2026-11|p is being written by run first (pid " in waited[0]
    assert _lock_text(s3_bucket) is None  # each holder removes its lock


def test_a_killed_holders_lock_expires_and_is_taken_over(lake, s3_bucket, caplog):
    proc = holding_process(lake.url)
    try:
        assert proc.stdout.readline().strip() == "held"
        proc.kill()  # SIGKILL: its lock stays, and nobody renews it
        proc.wait()
        entered = threading.Event()
        with caplog.at_level(logging.WARNING, logger=LOG.name):
            _hold(lake, "p", "run next", entered).join(15)
        assert entered.is_set()
        said = [r.getMessage() for r in caplog.records if r.name == LOG.name]
        assert len(said) == 2 and "is being written by run killed (pid " in said[0]  # until its lease runs out
        assert "took over the lock of run killed (pid " in said[1] and "not renewed for 2 s" in said[1]
    finally:
        proc.kill()
        proc.wait()


def test_a_live_holder_keeps_its_lock_past_the_lease(lake):
    held, leave, second = threading.Event(), threading.Event(), threading.Event()
    holder = _hold(lake, "p", "run long", held, leave)
    assert held.wait(10)
    waiting = _hold(lake, "p", "run next", second)
    assert not second.wait(5)  # 2.5 leases: renewed all along
    leave.set()
    holder.join(10)
    waiting.join(10)
    assert second.is_set()


def test_a_holder_whose_lock_was_taken_fails_when_it_leaves(lake, s3_bucket):
    held, leave, errors = threading.Event(), threading.Event(), []
    holder = _hold(lake, "p", "run slow", held, leave, errors)
    assert held.wait(10)
    boto3.client("s3").put_object(Bucket=s3_bucket, Key=KEY, Body=b"run thief")  # as if its lease had run out
    time.sleep(1.5)  # a renewal (every lease/5) finds the lock is not its own
    leave.set()
    holder.join(10)
    assert len(errors) == 1 and isinstance(errors[0], LeaseLost)
    assert "was taken by another run while this run held it" in str(errors[0])
    assert _lock_text(s3_bucket) == "run thief"  # the other run's lock is left alone


def test_a_holder_that_cannot_reach_the_store_for_a_lease_fails_when_it_leaves(s3_env):
    """Its own store, stopped while the lock is held: nothing can renew the lease."""
    from moto.server import ThreadedMotoServer

    from mrf_assets.tic.s3 import S3Settings
    from mrf_assets.tic.s3_lease import S3Lease

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = S3Settings.from_env(endpoint_url=f"http://{host}:{port}").client()
    client.create_bucket(Bucket="mrf-unreachable")
    lease = S3Lease(client, "mrf-unreachable", KEY, "run cut off", lease=1)
    lease.acquire(waiting=lambda other: None, took_over=lambda other: None)
    server.stop()
    time.sleep(2)  # two leases without a renewal
    with pytest.raises(LeaseLost, match="could not be renewed for 1 s"):
        lease.release()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_a_lease_setting_that_is_not_a_duration_is_refused_by_name(monkeypatch, value):
    from mrf_assets.tic.s3_lease import lease_seconds

    monkeypatch.setenv(LEASE_ENV, value)
    with pytest.raises(ValueError, match=f"MRF_LOCK_LEASE_SECONDS='{value}': expected a number of seconds"):
        lease_seconds()


def test_a_run_that_fails_keeps_its_error_and_frees_the_partition(lake, s3_bucket):
    with pytest.raises(ValueError, match="the run's own error"):
        with partition_lock(lake, "2026-11", "p", "run failing", LOG):
            assert _lock_text(s3_bucket).startswith("run failing (pid ")
            raise ValueError("the run's own error")
    assert _lock_text(s3_bucket) is None


def test_a_lock_that_cannot_be_written_is_named(s3_env, monkeypatch):
    monkeypatch.setenv(LEASE_ENV, "2")
    with pytest.raises(RuntimeError, match="cannot take the partition lock s3://mrf-no-such-bucket/lake/_locks/"
                                           "month=2026-11/payer=p.lock: .*NoSuchBucket"):
        with partition_lock(Lake("s3://mrf-no-such-bucket/lake"), "2026-11", "p", "run lost", LOG):
            pass
