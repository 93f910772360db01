"""Runs holding a partition's lock, for the lock tests of both stores (local flock, S3 lease)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.partition_lock import partition_lock

REPO = Path(__file__).resolve().parents[2]
_HOLD_FOR_A_MINUTE = ("import sys, time; from mrf_assets.tic.lake import Lake; from mrf_assets.tic.partition_lock "
                      "import partition_lock\nwith partition_lock(Lake(sys.argv[1]), '2026-11', 'p', 'run killed'):\n"
                      "    print('held', flush=True); time.sleep(60)")


def hold_in_thread(lake: Lake, payer: str, holder: str, entered: threading.Event, log: logging.Logger,
                   leave: threading.Event | None = None, errors: list | None = None) -> threading.Thread:
    """A run on a thread that takes the partition's lock (month 2026-11), says so through `entered`, and
    leaves once `leave` is set (at once without one); what it raises goes to `errors`."""
    def hold() -> None:
        try:
            with partition_lock(lake, "2026-11", payer, holder, log):
                entered.set()
                if leave is not None:
                    leave.wait(20)
        except Exception as exc:  # handed to the test
            (errors if errors is not None else []).append(exc)
    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def holding_process(lake_url: str) -> subprocess.Popen:
    """A process ("run killed") that holds partition 2026-11|p for a minute, once it has printed "held"."""
    return subprocess.Popen([sys.executable, "-c", _HOLD_FOR_A_MINUTE, lake_url], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
