"""A team's MLflow tracking server on PostgreSQL, in one folder (``make server``).

A throwaway PostgreSQL cluster (``initdb``/``pg_ctl`` from Debian's ``postgresql`` package)
lives in ``<folder>/postgres`` and listens on 127.0.0.1 only; ``mlflow server`` stores runs
there and serves artifacts itself (``--serve-artifacts``, files in ``<folder>/artifacts``), so
clients need nothing but ``MLFLOW_TRACKING_URI=http://host:port``. Stopping stops both,
each as a whole process group, and the folder keeps the data for the next start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from artclf.tracking.store import ensure_store

DB_USER, DB_NAME = "artclf", "mlflow"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y postgresql"


class ServerError(ValueError):
    """The server cannot start: PostgreSQL missing, a port taken, a folder not writable."""


def postgres_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if versions:
        return versions[-1].parent
    raise ServerError(f"PostgreSQL is not installed (no initdb); {INSTALL_HINT}")


def _as_db_owner(command: list[str], folder: Path) -> list[str]:
    """PostgreSQL refuses to run as root: there, run it as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise ServerError("PostgreSQL cannot run as root and runuser is missing; start as a user")
    shutil.chown(folder, "postgres")
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], folder: Path, what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(_as_db_owner(command, folder), capture_output=True, text=True)
    if done.returncode:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ServerError(f"{what} failed: {detail[-1] if detail else done.returncode}")
    return done


def start_postgres(folder: Path, port: int) -> str:
    """Create (first time) and start the cluster in ``folder``; its SQLAlchemy URL."""
    bin_dir = postgres_bin()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust"]
        _run([*initdb, "-E", "UTF8", "--no-locale"], folder, "initdb")
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "postgres.log")]
    _run([*start, "-o", options, "-w", "start"], folder, f"PostgreSQL on port {port}")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"
    psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER]
    exists = subprocess.run(
        _as_db_owner([*psql, "-tAc", query, "postgres"], folder), capture_output=True, text=True
    )
    if exists.stdout.strip() != "1":
        create = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER]
        _run([*create, DB_NAME], folder, "createdb")
    return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{port}/{DB_NAME}"


def stop_postgres(folder: Path) -> None:
    stop = [str(postgres_bin() / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop"]
    subprocess.run(_as_db_owner(stop, folder), capture_output=True, text=True)


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ServerError(f"mlflow server exited ({server.returncode}): {tail[0]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ServerError(f"mlflow server not answering on {url} after {timeout:.0f} s; see {log}")


def stop_group(process: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM the process's whole group (the server and its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def tracking_server(
    folder: Path, host: str = "127.0.0.1", port: int = 5000, db_port: int = 54329
) -> Iterator[str]:
    """Run PostgreSQL and ``mlflow server`` from ``folder`` until the block ends; yields the
    URL clients set as ``MLFLOW_TRACKING_URI``."""
    folder = folder.expanduser().resolve()
    backend = start_postgres(folder, db_port)
    server = None
    try:
        ensure_store(backend)  # the schema once, before the server's workers open it together
        artifacts = folder / "artifacts"
        artifacts.mkdir(exist_ok=True)
        log = folder / "mlflow-server.log"
        command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend]
        command += ["--serve-artifacts", "--artifacts-destination", str(artifacts)]
        command += ["--host", host, "--port", str(port)]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(log, "ab") as out:
            server = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        _wait_healthy(url, server, log, timeout=180)
        yield url
    finally:
        if server is not None:
            stop_group(server)
        stop_postgres(folder)
