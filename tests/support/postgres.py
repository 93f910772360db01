"""A throwaway PostgreSQL server on loopback (the machine's own postgres binaries)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return str(found)


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package provides a postgres user
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server():
    """Yields a postgresql:// URL to a fresh database; the server is stopped and removed after."""
    data = Path(tempfile.mkdtemp(prefix="mrf-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = lambda args: subprocess.run(_as_postgres(args), check=True, capture_output=True, text=True)  # noqa: E731
    run([_binary("initdb"), "-D", str(data / "db"), "-U", "dagster", "--auth=trust"])
    run([_binary("pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w", "-o",
         f"-h 127.0.0.1 -p {port} -k {data}", "start"])
    try:
        run([_binary("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dagster", "dagster"])
        yield f"postgresql+psycopg2://dagster@127.0.0.1:{port}/dagster"
    finally:
        subprocess.run(_as_postgres([_binary("pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
