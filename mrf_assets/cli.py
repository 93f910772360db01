"""The `mrf` command: run the pipeline through Dagster, summarize the lake, ingest files outside it, and
suggest a new payer's payers.yaml entry."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
import uuid

from mrf_assets.tic.discovery import TocNotFound
from mrf_assets.tic.http import HttpClient, offline_from_env
from mrf_assets.tic.ingest import PARSERS, PartitionIngest
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.parallel import WORKERS_ENV, ingest_files
from mrf_assets.tic.partition_lock import partition_lock
from mrf_assets.tic.payer_suggestion import MAX_HEAD_BYTES, SuggestionError, suggest_payer
from mrf_assets.tic.toc_survey import SurveyError
from payer_handlers.base import RegistryError

QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
SUMMARY_TABLES = ("payer_toc", "mrf_file_list", "rates", "provider_sets", "organizations", "providers", "rejects")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mrf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("materialize", help="materialize every asset and check for a month through Dagster")
    run.add_argument("--month", default=dt.date.today().strftime("%Y-%m"), help="YYYY-MM (default: this month)")
    run.add_argument("--payer", action="append", help="payer slug (repeatable; default: every enabled payer)")
    one = sub.add_parser("ingest-file", help="parse in-network files into one partition of the lake, outside Dagster")
    one.add_argument("urls", nargs="+", metavar="url",
                     help="https://, http://, file:// URL or a path (gzip/zip/plain JSON)")
    one.add_argument("--out", required=True, help="lake root to write to (folder or s3://...)")
    one.add_argument("--payer", default="adhoc")
    one.add_argument("--month", default=dt.date.today().strftime("%Y-%m"))
    one.add_argument("--parser", choices=PARSERS, default="fast",
                     help="fast (Arrow; falls back per batch) or reference (ijson, item by item)")
    one.add_argument("--workers", type=int,
                     help=f"processes for several files (default: ${WORKERS_ENV} or one per two cores)")
    new = sub.add_parser("suggest-payer", help="suggest a payers.yaml entry from a payer's ToC URL (or the page "
                         "that lists its files), proven against that URL")
    new.add_argument("url", help="the ToC (https://, file:// or a path) or a directory page or bucket listing")
    new.add_argument("--slug", help="partition key (default: from the ToC's reporting entity name)")
    new.add_argument("--name", help="display name (default: the ToC's reporting_entity_name)")
    new.add_argument("--max-mb", type=int, default=MAX_HEAD_BYTES >> 20,
                     help="read at most this much of a big ToC (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "materialize":
        return materialize(args.month, args.payer)
    if args.command == "suggest-payer":
        return suggest_command(args.url, args.slug, args.name, args.max_mb << 20)
    return ingest_command(args.urls, args.out, args.payer, args.month, args.parser, args.workers)


def suggest_command(url: str, slug: str | None, name: str | None, max_bytes: int) -> int:
    try:
        suggestion = suggest_payer(url, slug, name, offline=offline_from_env(), max_bytes=max_bytes)
    except (SuggestionError, SurveyError, TocNotFound, RegistryError) as exc:
        print(f"mrf suggest-payer: {exc}", file=sys.stderr)
        return 1
    print(suggestion.report(), end="")
    return 0


def materialize(month: str, slugs: list[str] | None) -> int:
    import dagster as dg  # imported here: `mrf ingest-file` should not pay for loading Dagster

    from mrf_assets.definitions import INGEST_JOB, defs
    from mrf_assets.partitions import month_payer_key
    from payer_handlers import load_registry

    payers = load_registry(defs.resources["registry"].path)
    slugs = slugs or [slug for slug, payer in payers.items() if payer.enabled]
    job = defs.resolve_job_def(INGEST_JOB)
    instance = dg.DagsterInstance.get()
    lake = defs.resources["lake"].lake()
    rows, ok = [], True
    for slug in slugs:
        print(f"materializing {month} x {slug} ...", flush=True)
        result = job.execute_in_process(partition_key=month_payer_key(month, slug), instance=instance,
                                        raise_on_error=False, tags={"payer": slug}, run_config=QUIET)
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        ok &= result.success
        rows.append((slug, result.success, checks, result.run_id))
    print_summary(lake, month, rows)
    return 0 if ok else 1


def print_summary(lake: Lake, month: str, runs: list[tuple]) -> None:
    print(f"\nmonth {month}   lake: {lake.url if not lake.local else lake.base}")
    header = f"{'payer':<12}" + "".join(f"{t:>15}" for t in SUMMARY_TABLES) + "   checks"
    print(header)
    for slug, success, checks, run_id in runs:
        counts = []
        for table in SUMMARY_TABLES:
            manifest = lake.manifest(table, month, slug)
            counts.append("-" if manifest is None else f"{manifest['rows']:,}")
        verdict = " ".join(f"{name}={'pass' if passed else 'FAIL'}" for name, passed in checks.items())
        print(f"{slug:<12}" + "".join(f"{c:>15}" for c in counts) +
              f"   {verdict or 'not evaluated'}  run {run_id[:8]} {'ok' if success else 'FAILED'}")
    print(f"\nfiles: {lake.base}/<table>/month={month}/payer=<slug>/ (read through _manifest.json)")


def ingest_command(urls: list[str], out: str, payer: str, month: str, parser: str = "fast",
                   workers: int | None = None) -> int:
    """Files into one partition; several go to worker processes, as a Dagster run ingests them."""
    # each file's result, and how far a long one has got, as the files go (the summary comes at the end)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("mrf_assets")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lake = Lake(out)
    run_id = uuid.uuid4().hex
    try:
        with partition_lock(lake, month, payer, f"mrf ingest-file {run_id}", logger):
            ingest = PartitionIngest(lake, payer, month, run_id, HttpClient(offline=offline_from_env()), parser=parser)
            started = time.perf_counter()
            stats = ingest_files(ingest, urls, workers)
            seconds = time.perf_counter() - started
            ingest.commit()
    finally:
        logger.removeHandler(handler)  # a second call in the same process logs each line once
    if len(stats) == 1:
        _print_file(stats[0], lake, month, payer)
    else:
        _print_files(stats, seconds)
    print(f"{'written to':>16}: {lake.partition_dir('rates', month, payer)}")
    return 1 if any(stat["status"] != "ok" for stat in stats) else 0


def _print_file(stat: dict, lake: Lake, month: str, payer: str) -> None:
    for key in ("status", "error", "parser", "container", "bytes", "json_bytes", "items", "items_rejected", "prices",
                "rows", "rows_rejected", "provider_groups", "items_fallback", "items_giant", "seconds", "mb_per_s"):
        print(f"{key:>16}: {stat.get(key)}")
    print(f"{'rates rows':>16}: {lake.manifest('rates', month, payer)['rows']} (one per price; 'rows' counts "
          f"price x provider group, the rates x provider_sets view)")


def _print_files(stats: list[dict], seconds: float) -> None:
    print(f"{'status':<7} {'MB of JSON':>10} {'rows':>12} {'MB/s':>7}  file")
    for stat in stats:
        print(f"{stat['status']:<7} {(stat.get('json_bytes') or 0) / 1e6:>10.1f} {stat.get('rows') or 0:>12,} "
              f"{stat.get('mb_per_s') or 0:>7.1f}  {stat['url']}" + (f"  ({stat['error']})" if stat["error"] else ""))
    total = sum(stat.get("json_bytes") or 0 for stat in stats)
    print(f"{'files':>16}: {len(stats)} ({sum(stat['status'] != 'ok' for stat in stats)} failed)")
    print(f"{'json_bytes':>16}: {total}")
    print(f"{'seconds':>16}: {seconds:.3f} (every file, worker start-up included)")
    print(f"{'mb_per_s':>16}: {total / 1e6 / seconds:.2f}")


if __name__ == "__main__":
    sys.exit(main())
