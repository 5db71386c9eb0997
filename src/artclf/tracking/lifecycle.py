"""What keeps the store honest across crashes: a store that cannot be used fails in one line
before any run exists, runs whose process died are closed, a resumed run continues the MLflow
run that wrote its checkpoint, and a failed run says why."""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

HOST_TAG, PID_TAG, START_TAG = "artclf.host", "artclf.pid", "artclf.pid_start"
FAILURE_TAG = "artclf.failure"
STOPPED_TAG = "artclf.stopped"
#: A tracking server that does not answer is tried this often, this far apart (seconds).
SERVER_TRIES, SERVER_WAIT_S, SERVER_TIMEOUT_S = 3, 1.0, 5.0
#: MLflow's own HTTP retries default to minutes of backoff; bounded unless the user set them.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def _unusable(uri: str, why: str) -> PermissionError:
    return PermissionError(
        f"tracking store {uri}: {why}; set MLFLOW_TRACKING_URI (or logger.tracking_uri) to a "
        "writable place, or run with logger=none"
    )


def _check_writable(uri: str, path: Path) -> None:
    """``path`` (a file or folder to be) can be created or written."""
    if path.exists():
        if path.is_dir() and path.suffix == ".db":
            raise _unusable(uri, f"{path} is a folder, not a database file")
        folder = path.parent if path.is_file() else path
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
            raise _unusable(uri, f"{path} is not writable")
        return
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise _unusable(uri, f"cannot create {path} ({parent} is not a writable folder)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unusable(uri, f"cannot create {path.parent} ({error.strerror})") from None


def _check_server(uri: str) -> None:
    """Answer within a few seconds or fail: a server that is down is not waited on for
    minutes. Any HTTP answer (even 401/404) means it is there; then a cheap query (one
    experiment) answered with a 5xx, or not at all, means its database is not."""
    for name, value in HTTP_LIMITS.items():
        os.environ.setdefault(name, value)
    error: Exception | None = None
    for attempt in range(SERVER_TRIES):
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=SERVER_TIMEOUT_S).close()
            break
        except urllib.error.HTTPError:
            break
        except (urllib.error.URLError, OSError) as failure:
            error = failure
            if attempt < SERVER_TRIES - 1:
                time.sleep(SERVER_WAIT_S)
    else:
        reason = getattr(error, "reason", error)
        raise ValueError(
            f"tracking server {uri} did not answer after {SERVER_TRIES} tries ({reason}); start "
            "it, fix MLFLOW_TRACKING_URI (or logger.tracking_uri), or run with logger=none"
        )
    query = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        urllib.request.urlopen(query, timeout=SERVER_TIMEOUT_S).close()
        return
    except urllib.error.HTTPError as answer:
        if answer.code < 500:  # 401/403: credentials are MLflow's to send, not ours
            return
        reason = f"HTTP {answer.code} to a search of its experiments"
    except (urllib.error.URLError, OSError) as failure:
        reason = f"no answer to a search of its experiments: {getattr(failure, 'reason', failure)}"
    raise ValueError(
        f"tracking server {uri} answers, but its database is unreachable ({reason}); start the "
        "database it uses (its --backend-store-uri), or run with logger=none"
    )


#: Database dialects -> the default driver SQLAlchemy imports for them, and its package.
DB_DRIVERS = {
    "postgresql": ("psycopg2", "psycopg2-binary (pip install 'artclf[scale]')"),
    "mysql": ("pymysql", "pymysql"),
}


def _check_driver(uri: str) -> None:
    """A database store whose driver is not installed is one line naming the package."""
    import importlib.util

    module, package = DB_DRIVERS[uri.split("://", 1)[0].partition("+")[0]]
    if importlib.util.find_spec(module) is None:
        raise ValueError(
            f"tracking store {uri.split('@')[-1]}: its database driver {module} is not "
            f"installed; install {package}, or use a sqlite:/// or http:// tracking URI"
        )


def check_store(uri: str) -> None:
    """Fail in one line, before any run is created, when the store cannot be used."""
    if uri.split("://", 1)[0].partition("+")[0] in DB_DRIVERS:
        _check_driver(uri)
    elif uri.startswith(("http://", "https://")):
        _check_server(uri)
    elif uri.startswith("sqlite:///"):
        _check_writable(uri, Path(uri.removeprefix("sqlite:///")))
    elif uri.startswith("file:"):
        _check_writable(uri, Path(urllib.request.url2pathname(uri.removeprefix("file:"))))
    elif "://" not in uri:
        _check_writable(uri, Path(uri))


def _process_start(pid: int) -> str:
    """When ``pid`` started (clock ticks since boot), so a reused pid is not taken for the
    process that wrote a run; '' where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def process_tags() -> dict[str, str]:
    """Which process runs this run, for finding it dead later."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: _process_start(pid)}


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not started or _process_start(pid) in ("", started)


def close_stale_runs(client: MlflowClient, experiment_id: str | None = None) -> None:
    """Mark KILLED the RUNNING runs of this host whose process is gone (killed -9, OOM), in
    ``experiment_id`` or (None) every experiment: the next command of any kind that opens the
    store closes them, not only the next training in the same experiment."""
    host = socket.gethostname()
    ids = (
        [experiment_id] if experiment_id else [e.experiment_id for e in client.search_experiments()]
    )
    if not ids:
        return
    runs = client.search_runs(
        ids,
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
        max_results=1000,
    )
    for run in runs:
        pid = int(run.data.tags.get(PID_TAG, "0") or 0)
        if pid <= 0 or _alive(pid, run.data.tags.get(START_TAG, "")):
            continue
        client.set_tag(run.info.run_id, FAILURE_TAG, f"process {pid} ended without closing it")
        client.set_terminated(run.info.run_id, "KILLED")
        log.warning(
            "marked run %s (%s) KILLED: its process %d on %s is gone",
            run.info.run_id,
            run.info.run_name,
            pid,
            host,
        )


def resumable(client: MlflowClient, run_id: str | None, experiment_id: str) -> bool:
    """Whether ``run_id`` (from a checkpoint) is a live run of this store and experiment."""
    if not run_id:
        return False
    try:
        run = client.get_run(run_id)
    except MlflowException:
        log.info("run %s of the checkpoint is not in this store; starting a new run", run_id)
        return False
    return run.info.experiment_id == experiment_id and run.info.lifecycle_stage == "active"


class Interrupted(SystemExit):
    """The job was stopped from outside (SIGTERM: preempted); the run ends KILLED with
    ``reason`` as its ``STOPPED_TAG`` and the process with ``code``."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(code)
        self.reason = reason


def record_stop(client: MlflowClient, run_id: str, reason: str) -> None:
    """Tag why the run was stopped, so the store says more than KILLED."""
    try:
        client.set_tag(run_id, STOPPED_TAG, reason)
    except MlflowException:
        log.warning("could not record why run %s was stopped", run_id)


def clear_reasons(client: MlflowClient, run_id: str) -> None:
    """A resumed run is no longer failed or stopped: drop the tags that said why it was."""
    run = client.get_run(run_id)
    for tag in (FAILURE_TAG, STOPPED_TAG):
        if tag in run.data.tags:
            client.delete_tag(run_id, tag)


def record_failure(client: MlflowClient, run_id: str, error: BaseException) -> None:
    """Tag why the run failed (its first line), so the store says more than FAILED."""
    text = str(error).strip().splitlines()
    reason = f"{type(error).__name__}: {text[0] if text else ''}"[:500]
    try:
        client.set_tag(run_id, FAILURE_TAG, reason)
    except MlflowException:
        log.warning("could not record the failure reason of run %s", run_id)
