"""Ingest a partition's files in parallel worker processes (spawned: each has its own interpreter,
so the Python parts of parsing use every core). Workers write their parts into the same partition;
the parent adopts their parts and stats and publishes once. A single process downloads its next file
while it parses the current one; several take a file each as they come free (a 20 GB file does not hold
up the others), and while one downloads the others parse."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from logging.handlers import QueueHandler, QueueListener

from mrf_assets.tic.ingest import PartitionIngest

WORKERS_ENV = "MRF_FILE_WORKERS"


def default_workers() -> int:
    """MRF_FILE_WORKERS, else a process per two cores: the fast path keeps two cores busy on its own
    (ten 50 MB files on 2 cores: one worker 6.4-6.8 s, two 6.8-7.2 s and twice the memory), and a
    worker downloads its next file while it parses."""
    return max(1, int(os.environ.get(WORKERS_ENV) or (os.cpu_count() or 1) // 2))


def ingest_files(ingest: PartitionIngest, urls: list[str], workers: int | None = None) -> list[dict]:
    """Ingest every URL into `ingest`'s partition; returns the file_stats rows in URL order."""
    workers = min(workers or default_workers(), len(urls))
    if workers <= 1:
        return in_turn(ingest, urls)
    spec = ingest.worker_spec()
    context = multiprocessing.get_context("spawn")
    records = context.Queue()
    relay = QueueListener(records, _Relay(ingest.log))  # what workers log goes to this run's log
    relay.start()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_log_to,
                                 initargs=(records,)) as pool:
            results = list(pool.map(_ingest_one, [spec] * len(urls), urls))
    finally:
        relay.stop()
    return [ingest.adopt(stat, parts) for stat, parts in results]


def in_turn(ingest: PartitionIngest, urls: list[str]) -> list[dict]:
    """One file after another in this process, each downloading while the one before it is parsed.
    If the run stops (an error that is not the file's, or Dagster terminating it), the next file's
    download stops too, rather than holding the run until tens of GB have arrived, and its copy goes."""
    stats: list[dict] = []
    cancel = threading.Event()
    ahead: Future | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="mrf-download") as downloads:
        try:
            ahead = downloads.submit(ingest.download, urls[0], cancel) if urls else None
            for i, url in enumerate(urls):
                current = ahead
                # the same URL twice would download to the same path while it is parsed
                following = i + 1 < len(urls) and urls[i + 1] != url
                ahead = downloads.submit(ingest.download, urls[i + 1], cancel) if following else None
                stats.append(ingest.ingest(url, current))
        except BaseException:
            cancel.set()
            if ahead is not None:
                ingest.discard_download(ahead)
            raise
    ingest.settle()
    return stats


class _Relay(logging.Handler):
    """Hands a worker's log records to the run's log (a logging.Logger, or Dagster's context.log)."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.log(record.levelno, record.getMessage())


def _log_to(records) -> None:
    """A worker's start: its ingest log (files done, progress, resumed downloads) goes to the run's."""
    logger = logging.getLogger("mrf_assets")
    logger.addHandler(QueueHandler(records))
    logger.setLevel(logging.INFO)


def _ingest_one(spec: dict, url: str) -> tuple[dict, dict[str, list[dict]]]:
    worker = PartitionIngest.from_spec(spec)
    stat = worker.ingest(url)
    worker.settle()
    return stat, {name: writer.parts for name, writer in worker.writers.items()}
