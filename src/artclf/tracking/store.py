"""Create a tracking store once, whatever number of processes open it first.

MLflow builds a new database's schema (tables, then Alembic migrations, then the Default
experiment) in the first process that opens it, with no lock: N jobs starting together on a
fresh ``mlflow.db`` race and can leave a half-migrated store that every later run rejects
(``table _alembic_tmp_experiments already exists``). Optuna's RDB storage has the same
first-use race. Every command opens its store through ``ensure_store`` first: the first
caller builds the schema under an inter-process file lock, the others wait and find it built.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
#: Alembic's batch migrations copy a table into this name before replacing it.
TEMP_TABLE_PREFIX = "_alembic_tmp_"

_READY: set[str] = set()  # URIs already opened by this process


def is_database(uri: str) -> bool:
    """A SQLAlchemy URI (``sqlite:///…``, ``postgresql://…``), not a server or a folder."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    return scheme in {"sqlite", "postgresql", "mysql", "mssql"}


def lock_path(uri: str) -> Path:
    """Beside a SQLite file (every machine sharing the file shares the lock); for a database
    server, one per URI on this machine."""
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).expanduser().resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        return db.with_name(db.name + ".lock")
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"artclf-store-{digest}.lock"


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold the inter-process lock of the store at ``uri``."""
    with open(lock_path(uri), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_ready(uri: str, build: Callable[[str], object]) -> None:
    """Run ``build(uri)`` (which creates the schema if missing) once per process, under the
    store's lock; a no-op for a tracking server or a file store, which guard themselves."""
    if uri in _READY or not is_database(uri):
        return
    with store_lock(uri):
        build(uri)
    _READY.add(uri)


def repair_interrupted_migration(uri: str) -> list[str]:
    """Finish what an interrupted schema migration of a SQLite store left (a full disk, a
    kill): Alembic's batch mode copies a table into ``_alembic_tmp_<table>``, drops the table
    and renames the copy. A copy beside its table is dropped (the migration runs again); a
    copy whose table is gone is renamed back (it holds the rows). Without this every later
    command failed with ``table _alembic_tmp_experiments already exists``. Returns what it
    did, one line each."""
    if not uri.startswith("sqlite:///"):
        return []
    db = Path(uri.removeprefix("sqlite:///")).expanduser()
    if not db.is_file():
        return []
    done = []
    with closing(sqlite3.connect(db)) as connection, connection:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        for temp in sorted(n for n in names if n.startswith(TEMP_TABLE_PREFIX)):
            table = temp.removeprefix(TEMP_TABLE_PREFIX)
            if table in names:
                connection.execute(f'DROP TABLE "{temp}"')
                done.append(f"dropped {temp}, left by an interrupted migration of {table}")
            else:
                connection.execute(f'ALTER TABLE "{temp}" RENAME TO "{table}"')
                done.append(f"restored {table} from {temp}, left by an interrupted migration")
    return done


def _open_mlflow(uri: str) -> None:
    from mlflow.tracking import MlflowClient

    for repair in repair_interrupted_migration(uri):
        log.warning("tracking store %s: %s", uri, repair)

    # The tracking store builds tables, migrations and the Default experiment on first open;
    # the registry store shares those tables. Both are cached per URI for the process.
    from artclf.tracking.lifecycle import close_stale_runs

    client = MlflowClient(uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)
    close_stale_runs(client)  # runs of processes killed since this store was last opened


def ensure_store(uri: str) -> None:
    """Open the MLflow store at ``uri`` once, creating its schema under the lock if new."""
    ensure_ready(uri, _open_mlflow)
