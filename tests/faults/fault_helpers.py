"""What the fault tests share: running a command as a user does, and its one-line verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient


def run_cli(module: str, *args: str, home: Path, timeout: int = 300, **env: str):
    """``python -m artclf.<module> args`` with its own home, cache and store under ``home``."""
    environ = {
        **os.environ,
        "ARTCLF_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **env,
    }
    environ.pop("ARTCLF_DEBUG", None)
    if "MLFLOW_TRACKING_URI" not in env:
        environ.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", f"artclf.{module}", *args],
        env=environ,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_error_line(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2 and exactly one ``error:`` line, no traceback; returns that line."""
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def runs_in(store: Path) -> list:
    """Every run of a SQLite store (none when the store was never created)."""
    if not store.exists():
        return []
    client = MlflowClient(f"sqlite:///{store}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []
