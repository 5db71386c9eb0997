"""A team's MLflow tracking server on PostgreSQL, in one folder (``make server``).

A PostgreSQL cluster (``initdb``/``pg_ctl`` from Debian's ``postgresql`` package) lives in
``<folder>/data`` and listens on 127.0.0.1 and on a unix socket in ``<folder>/socket`` (mode
0700). Every connection gives a password (scram-sha-256), so another local account gets
nothing from the port. Its superuser (``artclf``) only sets things up; ``mlflow server``
connects through the socket as ``mlflow_app``, a plain role owning the ``mlflow`` database,
which can neither read files nor run programs as the cluster. Both passwords are generated
on the first start and kept in ``<folder>/secrets`` (0700, files 0600); a cluster an older
version created with ``trust`` authentication gets them, and a password-only
``pg_hba.conf``, on its next start. ``mlflow server`` stores runs there and serves artifacts
itself (``--serve-artifacts``, files in ``<folder>/artifacts``), so clients need nothing but
``MLFLOW_TRACKING_URI=http://host:port``. Stopping stops both, each as a whole process
group, and the folder keeps the data for the next start.
"""

from __future__ import annotations

import os
import secrets
import shlex
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
from typing import Any
from urllib.parse import quote

from artclf.tracking.store import ensure_store

DB_USER, APP_USER, DB_NAME = "artclf", "mlflow_app", "mlflow"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y postgresql"
PASSWORD_ONLY_HBA = """\
# Written by artclf.tracking.server: every connection gives a password.
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
local replication all scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
host replication all ::1/128 scram-sha-256
"""
# What an older version created as the superuser in the mlflow database passes to the app
# role (sequences of a column follow their table); nothing to do on later starts.
HAND_OVER = f"""\
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT c.oid::regclass AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relowner = current_user::regrole
        AND (c.relkind IN ('r', 'p', 'v') OR c.relkind = 'S' AND NOT EXISTS (
          SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO %I', item.name, '{APP_USER}');
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proowner = current_user::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, '{APP_USER}');
  END LOOP;
END $$;
"""


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


def _db_owned(path: Path) -> Path:
    """As root the cluster runs as ``postgres``, which must own the folders it writes and
    the password file ``initdb`` reads; root still reads them all."""
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")
    return path


def _as_db_owner(command: list[str], folder: Path) -> list[str]:
    """PostgreSQL refuses to run as root: there, run it as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise ServerError("PostgreSQL cannot run as root and runuser is missing; start as a user")
    _db_owned(folder)
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str, **options: Any) -> None:
    """Run ``command``; a ServerError with the last line of its complaint if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, **options)
    if done.returncode:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ServerError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _private_dir(path: Path) -> Path:
    """A folder only the cluster's owner enters (0700 whatever the umask): the socket's, the
    passwords'."""
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return _db_owned(path)


def _secret(path: Path, create: bool = True) -> str:
    """The password kept in ``path``, generated on first use into a file that is 0600 from
    the moment it exists."""
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip()
    if not create:
        cluster = path.parent.parent / "data"
        raise ServerError(
            f"{path} is missing: it held the superuser password of the cluster in {cluster};"
            f" restore it, or delete {cluster} to start a new, empty one"
        )
    password = secrets.token_urlsafe(32)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(password + "\n")
    _db_owned(path)
    return password


def _literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _trusts(data: Path) -> bool:
    """Whether ``pg_hba.conf`` lets someone in without a password (clusters made by older
    versions, ``initdb --auth=trust``)."""
    lines = (data / "pg_hba.conf").read_text().splitlines()
    return any("trust" in line.split("#", 1)[0].split() for line in lines)


def _pg_ctl_start(bin_dir: Path, folder: Path, options: str, what: str) -> None:
    data, log = str(folder / "data"), str(folder / "postgres.log")
    start = [str(bin_dir / "pg_ctl"), "-D", data, "-l", log, "-o", options, "-w", "start"]
    _run(_as_db_owner(start, folder), what)


def _psql(bin_dir: Path, folder: Path, port: int, password: str, sql: str) -> None:
    """Run ``sql`` as the superuser through the private socket; the password travels in the
    environment, never on a command line that ``ps`` shows."""
    command = [str(bin_dir / "psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]
    command += ["-h", str(folder / "socket"), "-p", str(port), "-U", DB_USER, "-d", "postgres"]
    env = {**os.environ, "PGPASSWORD": password}
    _run(command, "setting up PostgreSQL's roles", input=sql, env=env)


def _secure_trusting_cluster(bin_dir: Path, folder: Path, port: int, password: str) -> None:
    """Give a cluster an older version created with ``trust`` its superuser password, then a
    password-only ``pg_hba.conf``; meanwhile it listens on the private socket only."""
    socket = shlex.quote(str(folder / "socket"))
    _pg_ctl_start(bin_dir, folder, f"-h '' -p {port} -k {socket}", "securing the old cluster")
    try:
        sql = f"ALTER ROLE {DB_USER} PASSWORD {_literal(password)};"
        _psql(bin_dir, folder, port, password, sql)
        (folder / "data" / "pg_hba.conf").write_text(PASSWORD_ONLY_HBA)
    finally:
        stop_postgres(folder)


def _set_up_app_role(bin_dir: Path, folder: Path, port: int, password: str, app: str) -> None:
    """The MLflow role (no superuser) with its password, owning the ``mlflow`` database;
    idempotent, so each start heals a missing piece."""
    role, db = APP_USER, DB_NAME
    sql = f"""\
SELECT 'CREATE ROLE {role}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')
\\gexec
ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD {_literal(app)};
SELECT 'CREATE DATABASE {db} OWNER {role}' WHERE NOT EXISTS (
  SELECT FROM pg_database WHERE datname = '{db}')
\\gexec
ALTER DATABASE {db} OWNER TO {role};
\\connect {db}
{HAND_OVER}"""
    _psql(bin_dir, folder, port, password, sql)


def backend_url(folder: Path, port: int, password: str) -> str:
    """The SQLAlchemy URL of the ``mlflow`` database for the app role, through the socket."""
    socket = quote(str(folder / "socket"), safe="/")
    user = f"{APP_USER}:{quote(password, safe='')}"
    return f"postgresql+psycopg2://{user}@/{DB_NAME}?host={socket}&port={port}"


def start_postgres(folder: Path, port: int) -> str:
    """Create (first time), secure (a cluster of an older version) and start the cluster in
    ``folder``; the SQLAlchemy URL MLflow uses."""
    bin_dir = postgres_bin()
    folder.mkdir(parents=True, exist_ok=True)
    data, keys = folder / "data", _private_dir(folder / "secrets")
    socket = _private_dir(folder / "socket")
    new = not (data / "PG_VERSION").exists()
    trusting = not new and _trusts(data)
    password = _secret(keys / DB_USER, create=new or trusting)
    app = _secret(keys / APP_USER)
    if new:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER, "-E", "UTF8"]
        auth = ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"]
        command = [*initdb, "--no-locale", *auth, f"--pwfile={keys / DB_USER}"]
        _run(_as_db_owner(command, folder), "initdb")
    elif trusting:
        _secure_trusting_cluster(bin_dir, folder, port, password)
    options = f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(socket))}"
    _pg_ctl_start(bin_dir, folder, options, f"PostgreSQL on port {port}")
    try:
        _set_up_app_role(bin_dir, folder, port, password, app)
    except ServerError:
        stop_postgres(folder)
        raise
    return backend_url(folder, port, app)


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
        command = [sys.executable, "-m", "mlflow", "server", "--serve-artifacts"]
        command += ["--artifacts-destination", str(artifacts)]
        command += ["--host", host, "--port", str(port)]
        # the URL holds a password: in the environment, not on a command line `ps` shows
        env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": backend}
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
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
