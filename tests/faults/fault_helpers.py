"""What the fault tests share: running a command as a user does, and its one-line verdict."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.runtime.cli import run_or_exit
from artclf.train import train
from conftest import TINY_SYNTHETIC


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


#: A tiny, quiet CPU training of the embedded dataset.
FAST = (*TINY_SYNTHETIC, "trainer.accelerator=cpu", "callbacks.progress_bar=false")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def exits_with_one_line(cfg, capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        run_or_exit(train, cfg)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
