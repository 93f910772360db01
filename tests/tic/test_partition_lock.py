"""One writer per lake partition: a second run waits for the first (and is told who it is), other
partitions are not held, and a holder that dies leaves the partition free."""

from __future__ import annotations

import logging
import threading

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.partition_lock import partition_lock
from tests.support.partition_locks import hold_in_thread, holding_process

LOG = logging.getLogger("test_partition_lock")


def _enter_in_thread(lake: Lake, payer: str, holder: str, entered: threading.Event,
                     leave: threading.Event | None = None) -> threading.Thread:
    return hold_in_thread(lake, payer, holder, entered, LOG, leave)


def test_a_second_writer_waits_for_the_first_and_is_told_who_holds_it(tmp_path, caplog):
    lake = Lake(str(tmp_path))
    first_in, first_leave, second_in = threading.Event(), threading.Event(), threading.Event()
    first = _enter_in_thread(lake, "p", "run first", first_in, first_leave)
    assert first_in.wait(5)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        second = _enter_in_thread(lake, "p", "run second", second_in)
        assert not second_in.wait(0.5)  # held: the second run waits
        first_leave.set()
        assert second_in.wait(5)  # released: it goes on
        first.join(5)
        second.join(5)
    waited = [r.getMessage() for r in caplog.records]
    assert len(waited) == 1 and "partition 2026-11|p is being written by run first (pid " in waited[0]


def test_other_partitions_are_not_held(tmp_path):
    lake = Lake(str(tmp_path))
    held, leave, other = threading.Event(), threading.Event(), threading.Event()
    holder = _enter_in_thread(lake, "p", "run first", held, leave)
    assert held.wait(5)
    _enter_in_thread(lake, "q", "run second", other).join(5)
    assert other.is_set()
    leave.set()
    holder.join(5)


def test_a_killed_holder_leaves_the_partition_free(tmp_path):
    lake = Lake(str(tmp_path))
    proc = holding_process(str(tmp_path))
    try:
        assert proc.stdout.readline().strip() == "held"
        entered = threading.Event()
        waiting = _enter_in_thread(lake, "p", "run next", entered)
        assert not entered.wait(0.5)
        proc.kill()  # SIGKILL: no clean-up of its own
        assert entered.wait(5)
        waiting.join(5)
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_lives_beside_the_tables(tmp_path):
    lake = Lake(str(tmp_path))
    with partition_lock(lake, "2026-11", "p", "run one"):
        text = (tmp_path / "_locks" / "month=2026-11" / "payer=p.lock").read_text()
        assert text.startswith("run one (pid ")
    assert (tmp_path / "_locks" / "month=2026-11" / "payer=p.lock").read_text() == ""
