"""The team server's PostgreSQL trusts no one: every connection gives a password, another local
account reaches neither the socket nor a session, MLflow's role is no superuser, the passwords
sit in 0600 files (on no command line), and a cluster an older version made with ``trust``
authentication is secured on its next start. Runs still log to the server."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_helpers import run_cli
from mlflow.tracking import MlflowClient

from artclf.tracking.server import (
    ServerError,
    _as_db_owner,
    postgres_bin,
    start_postgres,
    stop_postgres,
    tracking_server,
)
from artclf.tracking.store import ensure_store
from conftest import TINY_SYNTHETIC

pytestmark = pytest.mark.slow  # PostgreSQL and mlflow server start, one training: a minute
# The cluster's superuser, MLflow's role and its database (as the README names them).
DB_USER, APP_USER, DB_NAME = "artclf", "mlflow_app", "mlflow"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_folder() -> Path:
    """A server folder as ``make server`` makes one (0755): what guards PostgreSQL is its own
    doing, not this folder's mode. Not under tmp_path: as root ``postgres`` must reach it."""
    try:
        postgres_bin()
    except ServerError:
        pytest.skip("PostgreSQL is not installed here (no initdb): apt-get install -y postgresql")
    folder = Path(tempfile.mkdtemp(prefix="artclf-auth-"))
    folder.chmod(0o755)
    return folder


def psql(host: str, port: int, user: str, sql: str, password: str = "", runas: str = ""):
    """``psql -c sql`` as ``user`` on ``host`` (an address or the socket's folder), with
    ``password`` or none at all (no prompt, no password file), as the OS user ``runas``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSFILE"] = "/nonexistent/.pgpass"
    if password:
        env["PGPASSWORD"] = password
    command = [str(postgres_bin() / "psql"), "-X", "-w", "-tA", "-h", host, "-p", str(port)]
    command += ["-U", user, "-d", DB_NAME, "-c", sql]
    if runas:
        command = ["runuser", "-u", runas, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def assert_refused(done: subprocess.CompletedProcess, *reasons: str) -> None:
    assert done.returncode != 0, done.stdout
    assert any(reason in done.stderr for reason in reasons), done.stderr


class Server:
    """A running team server: its folder, URL, database port and passwords."""

    def __init__(self, folder: Path, url: str, db_port: int) -> None:
        self.folder, self.url, self.db_port = folder, url, db_port
        self.socket = str(folder / "socket")

    def secret(self, role: str) -> str:
        return (self.folder / "secrets" / role).read_text().strip()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    folder, db_port = new_folder(), free_port()
    try:
        with tracking_server(folder, port=free_port(), db_port=db_port) as url:
            yield Server(folder, url, db_port)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def other_account() -> Iterator[str]:
    """A throwaway local account that is neither root nor ``postgres``."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("creating another local account needs root and useradd")
    name = f"artclf-probe-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def test_the_superuser_needs_its_password_over_tcp_and_the_socket(server: Server) -> None:
    for host in ("127.0.0.1", server.socket):
        assert_refused(psql(host, server.db_port, DB_USER, "SELECT 1"), "no password supplied")
        wrong = psql(host, server.db_port, DB_USER, "SELECT 1", password="guess")
        assert_refused(wrong, "password authentication failed")
    ok = psql(server.socket, server.db_port, DB_USER, "SELECT 1", password=server.secret(DB_USER))
    assert ok.stdout.strip() == "1", ok.stderr


def test_another_local_account_gets_in_nowhere(server: Server, other_account: str) -> None:
    for user in (DB_USER, APP_USER, "postgres"):
        tcp = psql("127.0.0.1", server.db_port, user, "SELECT 1", runas=other_account)
        assert_refused(tcp, "no password supplied")
        local = psql(server.socket, server.db_port, user, "SELECT 1", runas=other_account)
        assert_refused(local, "Permission denied")
    for secret in (DB_USER, APP_USER):
        path = server.folder / "secrets" / secret
        peek = subprocess.run(["runuser", "-u", other_account, "--", "cat", str(path)])
        assert peek.returncode != 0


def test_mlflow_role_is_no_superuser_and_runs_no_programs(server: Server) -> None:
    def as_app(sql: str) -> subprocess.CompletedProcess:
        return psql(server.socket, server.db_port, APP_USER, sql, password=server.secret(APP_USER))

    role = as_app(f"SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = '{APP_USER}'")
    assert role.stdout.strip() == "f|f", role.stderr
    owner = as_app(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DB_NAME}'")
    assert owner.stdout.strip() == APP_USER, owner.stderr
    marker = server.folder / "program-ran"
    assert_refused(as_app(f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'"), "external program")
    assert not marker.exists()


def test_passwords_are_in_private_files_and_on_no_command_line(server: Server) -> None:
    for name in ("secrets", "socket"):
        assert stat.S_IMODE((server.folder / name).stat().st_mode) == 0o700, name
    for name in (DB_USER, APP_USER):
        assert stat.S_IMODE((server.folder / "secrets" / name).stat().st_mode) == 0o600, name
    passwords = {server.secret(DB_USER), server.secret(APP_USER)}
    assert len(passwords) == 2
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        assert not [p for p in passwords if p in words], cmdline
    for log in ("postgres.log", "mlflow-server.log"):
        text = (server.folder / log).read_text(errors="replace")
        assert not [p for p in passwords if p in text], log


def test_a_training_run_still_logs_to_the_server(server: Server, tmp_path: Path) -> None:
    args = (*TINY_SYNTHETIC, "trainer.max_epochs=1", "trainer.accelerator=cpu")
    done = run_cli("train", *args, home=tmp_path, MLFLOW_TRACKING_URI=server.url)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(server.url)
    [run] = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    assert run.info.status == "FINISHED" and "val/acc" in run.data.metrics
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert list((server.folder / "artifacts").rglob("checkpoints/*.ckpt"))


def make_trusting_cluster(folder: Path, port: int) -> None:
    """What older versions made: ``initdb --auth=trust``, and MLflow's tables in ``mlflow``
    owned by the superuser."""
    bin_dir = postgres_bin()
    initdb = [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", DB_USER, "--auth=trust"]
    subprocess.run(_as_db_owner(initdb, folder), check=True, capture_output=True)
    start = [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "old.log")]
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    subprocess.run(_as_db_owner([*start, "-o", options, "-w", "start"], folder), check=True)
    try:
        create = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER]
        subprocess.run([*create, DB_NAME], check=True)
        ensure_store(f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{port}/{DB_NAME}")
    finally:
        stop_postgres(folder)


def test_a_trusting_cluster_of_an_older_version_is_secured_on_start() -> None:
    folder, port = new_folder(), free_port()
    try:
        make_trusting_cluster(folder, port)
        backend = start_postgres(folder, port)
        try:
            hba = (folder / "data" / "pg_hba.conf").read_text().splitlines()
            assert not [line for line in hba if "trust" in line.split("#")[0]], hba
            assert_refused(psql("127.0.0.1", port, DB_USER, "SELECT 1"), "no password supplied")
            MlflowClient(backend).create_experiment("after-the-upgrade")
            password = Server(folder, "", port).secret(DB_USER)
            others = psql(
                "127.0.0.1",
                port,
                DB_USER,
                f"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                f" WHERE n.nspname = 'public' AND c.relowner <> '{APP_USER}'::regrole",
                password=password,
            )
            assert others.stdout.strip() == "0", others.stderr  # its tables are MLflow's now
        finally:
            stop_postgres(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
