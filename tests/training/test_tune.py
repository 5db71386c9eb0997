"""``artclf.tune``: a resumable, prunable Optuna study whose trials are child MLflow runs."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from artclf.training.tuning import (
    FINISHED,
    HOST,
    PID,
    compose,
    on_stale,
    recover_dead_trials,
    trial_config,
    trial_run_name,
)
from conftest import TINY_SYNTHETIC

optuna.logging.set_verbosity(optuna.logging.WARNING)
TINY = (*TINY_SYNTHETIC, "trainer.max_epochs=2", "trainer.accelerator=cpu", "test=false")
#: Prune anything below the best trial so far from the first epoch on.
AGGRESSIVE = ("tune.pruner.percentile=1", "tune.pruner.n_startup_trials=1")


def test_search_is_required_and_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="pass search=NAME, one of stylize_random, train_random"):
        compose(["study=x"])


def test_trial_config_sets_values_parent_and_folder(tmp_path: Path) -> None:
    cfg = compose(["search=train_random", "study=demo", "optimized_metric=val/loss"])
    study = optuna.create_study(direction="minimize")
    trial = study.ask()
    built = trial_config(cfg, trial, parent_run_id="abc")
    assert 1e-4 <= built.optim.lr <= 1e-1 and built.optim.lr == trial.params["optim.lr"]
    assert built.logger.parent_run_id == "abc" and built.logger.run_name == "demo-t000"
    assert built.paths.run_dir.endswith("tune/demo/demo-t000")
    assert built.callbacks.checkpoint.mode == "max" and cfg.optimized.metric == "val/loss"
    assert compose(["search=stylize_random"]).tune.command == "stylize"


def claim(trial: optuna.Trial, pid: int) -> None:
    """Mark ``trial`` as run by process ``pid`` of this host (what ``objective_for`` records)."""
    trial.set_user_attr(HOST, os.uname().nodename)
    trial.set_user_attr(PID, pid)


@pytest.fixture
def dead_trial(tmp_path: Path) -> optuna.Study:
    """A stored study ``s`` whose one running trial (``optim.lr``) has lost its process."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'o.db'}", study_name="s")
    trial = study.ask({"optim.lr": optuna.distributions.FloatDistribution(0, 1)})
    claim(trial, dead.pid)
    return study


def test_a_dead_process_trial_is_failed_and_queued_again(dead_trial) -> None:
    study = dead_trial
    alive = study.ask({"optim.lr": optuna.distributions.FloatDistribution(0, 1)})
    claim(alive, os.getpid())
    assert recover_dead_trials(study, RetryHeartbeatStaleTrialCallback()) == 1
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]
    assert study.trials[2].params == study.trials[0].params


def test_a_trial_dead_before_its_run_existed_gets_a_killed_child_run(
    tmp_path: Path, dead_trial
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = compose(["search=train_random", "study=s", f"logger.tracking_uri={uri}"])
    client = MlflowClient(uri)
    parent = client.create_run(client.create_experiment("e")).info.run_id
    study = dead_trial
    stale = on_stale(cfg, parent, RetryHeartbeatStaleTrialCallback())
    assert recover_dead_trials(study, stale) == 1
    (run,) = client.search_runs(["1"], f"tags.mlflow.parentRunId = '{parent}'")
    assert run.info.run_name == trial_run_name("s", 0) and run.info.status == "KILLED"
    assert run.data.tags["optuna.state"] == "FAIL"
    assert float(run.data.params["optim.lr"]) == study.trials[0].params["optim.lr"]


def tune_cli(tmp_path: Path, shared_cache: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ARTCLF_HOME": str(tmp_path), "ARTCLF_CACHE": str(shared_cache)}
    command = [sys.executable, "-m", "artclf.tune", "search=train_random", "study=st", *TINY]
    return subprocess.Popen(
        [*command, *AGGRESSIVE, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(storage: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name="st", storage=storage)
    except KeyError:  # not created yet
        return []
    return [t for t in study.trials if t.state in FINISHED]


@pytest.mark.slow  # ~12 tiny trainings in 4 processes: a few minutes on a busy 2-core CPU
def test_killed_study_resumes_prunes_and_is_shared(tmp_path: Path, shared_cache: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = tune_cli(tmp_path, shared_cache, "n_trials=6")
    deadline = time.monotonic() + 600
    while len(finished(storage)) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert first.poll() is None, first.stdout.read()[-3000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert 3 <= len(finished(storage)) < 6

    resumed = tune_cli(tmp_path, shared_cache, "n_trials=6")
    output = resumed.communicate(timeout=900)[0]
    assert resumed.returncode == 0, output[-3000:]
    trials = finished(storage)
    assert len(trials) == 6 and "study st: " in output
    assert len({t.params["optim.lr"] for t in trials}) == 6  # none repeated
    assert any(t.state == TrialState.PRUNED for t in trials)

    # two processes on the same study share the next 4 trials
    pair = [tune_cli(tmp_path, shared_cache, "n_trials=10") for _ in range(2)]
    outputs = [p.communicate(timeout=900)[0] for p in pair]
    assert all(p.returncode == 0 for p in pair), outputs[0][-2000:] + outputs[1][-2000:]
    trials = finished(storage)
    assert 10 <= len(trials) <= 11  # each process may finish one trial past the target
    assert len({t.params["optim.lr"] for t in trials}) == len(trials)
    assert len({t.user_attrs[PID] for t in trials[6:]}) == 2

    study = optuna.load_study(study_name="st", storage=storage)
    started = [t for t in study.trials if t.state != TrialState.WAITING]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    parents = [r for r in runs if r.data.tags.get("artclf.role") == "study"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    # one child run per trial: every finished trial has its run; a trial killed before its
    # run existed has none
    by_name = {c.info.run_name: c for c in children}
    assert len(by_name) == len(children)
    names = {trial_run_name("st", t.number) for t in started}
    assert {trial_run_name("st", t.number) for t in trials} <= set(by_name) <= names
    assert len(children) >= len(started) - 1
    for trial in started:
        run = by_name.get(trial_run_name("st", trial.number))
        if run is None:
            continue
        expected = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED"}
        assert run.info.status == expected.get(trial.state, "KILLED"), trial
        if trial.state == TrialState.COMPLETE:
            history = client.get_metric_history(run.info.run_id, "val/acc")
            assert max(m.value for m in history) == pytest.approx(trial.value)


def recorded_pids(optuna_db: Path) -> int:
    """Trials whose process is recorded (the trial has started in a live process)."""
    if not optuna_db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(optuna_db, timeout=5)) as db:
        try:
            query = "select count(*) from trial_user_attributes where key = ?"
            return db.execute(query, (PID,)).fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


@pytest.mark.slow  # 2 tiny trainings after the kill: ~1-2 min on a busy 2-core CPU
def test_a_trial_killed_before_its_run_existed_is_a_child_after_resume(
    tmp_path: Path, shared_cache: Path
) -> None:
    first = tune_cli(tmp_path, shared_cache, "n_trials=2")
    deadline = time.monotonic() + 300
    while first.poll() is None and time.monotonic() < deadline:
        if recorded_pids(tmp_path / "optuna.db"):  # trial 0 started: kill before its run
            break
        time.sleep(0.05)
    assert first.poll() is None, first.stdout.read()[-3000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artclf-train").experiment_id
    assert client.search_runs([experiment], "attributes.run_name = 'st-t000'") == []

    resumed = tune_cli(tmp_path, shared_cache, "n_trials=2")
    output = resumed.communicate(timeout=900)[0]
    assert resumed.returncode == 0, output[-3000:]
    study = optuna.load_study(study_name="st", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    started = [t for t in study.trials if t.state != TrialState.WAITING]
    assert started[0].state == TrialState.FAIL and len(started) == 3  # killed, retried, next
    children = [r for r in client.search_runs([experiment]) if "mlflow.parentRunId" in r.data.tags]
    names = sorted(r.info.run_name for r in children)
    assert names == [trial_run_name("st", t.number) for t in started]  # one child per trial
    killed = next(r for r in children if r.info.run_name == "st-t000")
    assert killed.info.status == "KILLED" and killed.data.tags["optuna.state"] == "FAIL"
