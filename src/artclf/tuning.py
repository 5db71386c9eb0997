"""Resumable, prunable searches on Optuna's own engine (``python -m artclf.tune``).

A study lives in an RDB storage (SQLite by default, PostgreSQL for many machines), so a killed
search continues where it stopped and several processes share one study. Each trial is the
command's library call (``train(cfg)``, ``stylize(cfg)``) on the composed config with the
trial's values set, tracked as a child MLflow run under one run per study; trainings report
the optimised val metric per epoch to Optuna's pruner through optuna-integration's Lightning
callback. The search space stays YAML (``conf/search/*.yaml``, key ``tune``).
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import optuna
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import Trial, TrialState

from artclf.config import CONFIG_DIR

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SAMPLERS = ("random", "tpe")
#: Trial attributes that tie a trial to the process running it and to its MLflow run.
HOST, PID, RUN_ID = "host", "pid", "mlflow_run_id"


@dataclass
class Outcome:
    """What a study holds after this process's share of the work."""

    study: optuna.Study
    parent_run_id: str | None

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.study.trials)


def compose(overrides: Sequence[str]) -> DictConfig:
    """The command's config (``tune.command`` of the chosen search) with ``overrides``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    chosen = [o.split("=", 1)[1] for o in overrides if o.startswith("search=")]
    searches = sorted(p.stem for p in (CONFIG_DIR / "search").glob("*.yaml"))
    if not chosen or chosen[-1] not in searches:
        raise ValueError(
            f"pass search=NAME, one of {', '.join(searches)} (conf/search/), "
            "e.g. python -m artclf.tune search=train_random study=NAME n_trials=8"
        )
    command = str(OmegaConf.load(CONFIG_DIR / "search" / f"{chosen[-1]}.yaml").tune.command)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name=command, overrides=list(overrides))


def suggest(trial: Trial, params: DictConfig) -> dict[str, Any]:
    """One value per searched key, from its YAML distribution."""
    values: dict[str, Any] = {}
    for key, spec in params.items():
        if "choices" in spec:
            values[key] = trial.suggest_categorical(key, list(spec.choices))
        elif isinstance(spec.low, int) and isinstance(spec.high, int):
            step = int(spec.get("step", 1))
            values[key] = trial.suggest_int(
                key, spec.low, spec.high, step=step, log=spec.get("log", False)
            )
        else:
            step = spec.get("step")
            values[key] = trial.suggest_float(
                key, float(spec.low), float(spec.high), step=step, log=bool(spec.get("log", False))
            )
    return values


def trial_config(base: DictConfig, trial: Trial, parent_run_id: str | None) -> DictConfig:
    """The base config with the trial's values, its own run folder and its parent run."""
    cfg = copy.deepcopy(base)
    for key, value in suggest(trial, base.tune.params).items():
        OmegaConf.update(cfg, key, value, force_add=False)
    name = f"{base.study}-t{trial.number:03d}"
    cfg.paths.run_dir = str(Path(base.paths.output_dir) / "tune" / str(base.study) / name)
    if "logger" in cfg:
        cfg.logger.run_name = name
        cfg.logger.parent_run_id = parent_run_id
    return cfg


def run_trial(cfg: DictConfig, trial: Trial) -> float:
    """The command's library call on ``cfg``; trainings feed the pruner each epoch."""
    command = str(cfg.tune.command)
    if command == "stylize":
        from artclf.stylize import stylize

        metrics = stylize(cfg)
        _record_run(trial)
        return float(metrics[str(cfg.optimized.metric)])
    from artclf.train import train

    callbacks: list[Callback] = [RunRecorder(trial)]
    if cfg.tune.pruner.enabled:
        from optuna_integration import PyTorchLightningPruningCallback

        callbacks.append(PyTorchLightningPruningCallback(trial, str(cfg.optimized.metric)))
    return train(cfg, extra_callbacks=callbacks)


def _record_run(trial: Trial) -> None:
    import mlflow

    run = mlflow.active_run() or mlflow.last_active_run()
    if run is not None:
        trial.set_user_attr(RUN_ID, run.info.run_id)


class RunRecorder(Callback):
    """Store the trial's MLflow run id in the study as soon as the run exists, so a trial
    whose process dies can close its run too."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            _record_run(self.trial)


def close_run(run_id: str | None, state: str) -> None:
    """Mark a trial's MLflow run KILLED with the Optuna state that ended it."""
    if not run_id:
        return
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    client.set_tag(run_id, "optuna.state", state)
    client.set_terminated(run_id, "KILLED")


def objective_for(base: DictConfig, parent_run_id: str | None) -> Callable[[Trial], float]:
    def objective(trial: Trial) -> float:
        trial.set_user_attr(HOST, socket.gethostname())
        trial.set_user_attr(PID, os.getpid())
        trial.set_user_attr(RUN_ID, None)
        cfg = trial_config(base, trial, parent_run_id)
        try:
            return run_trial(cfg, trial)
        except optuna.TrialPruned:
            close_run(trial.user_attrs.get(RUN_ID), "PRUNED")
            raise

    return objective


def recover_dead_trials(study: optuna.Study, retry: RetryHeartbeatStaleTrialCallback) -> int:
    """Fail and queue again the running trials of processes on this machine that are gone
    (a killed search); trials of other machines are left to the storage's heartbeat."""
    host, recovered = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(PID)
        if trial.user_attrs.get(HOST) != host or pid is None or _alive(int(pid)):
            continue
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        retry(study, study._storage.get_trial(trial._trial_id))
        close_run(trial.user_attrs.get(RUN_ID), "FAILED")
        recovered += 1
    return recovered


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sampler(tune: DictConfig, worker: int) -> optuna.samplers.BaseSampler:
    """Seeded per worker: a resumed or second process must not redraw the first one's values."""
    seed = None if tune.seed is None else int(tune.seed) + 1000 * worker
    if tune.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if tune.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    raise ValueError(f"unknown tune.sampler {tune.sampler!r}; valid choices: {', '.join(SAMPLERS)}")


def _pruner(tune: DictConfig) -> optuna.pruners.BasePruner:
    spec = tune.get("pruner") or {}
    if not spec.get("enabled", False):
        return optuna.pruners.NopPruner()
    return optuna.pruners.PercentilePruner(
        float(spec.percentile),
        n_startup_trials=int(spec.n_startup_trials),
        n_warmup_steps=int(spec.n_warmup_steps),
    )


def _storage(tune: DictConfig, retry: RetryHeartbeatStaleTrialCallback) -> RDBStorage:
    url = str(tune.storage)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return RDBStorage(
        url,
        heartbeat_interval=int(tune.heartbeat_interval),
        grace_period=int(tune.grace_period),
        heartbeat_stale_trial_callback=retry,
    )


def _study_parent(cfg: DictConfig, study: optuna.Study) -> str | None:
    """The study's MLflow run, created by the first process and found by every later one."""
    if "logger" not in cfg or not cfg.logger.enabled:
        return None
    parent = study.user_attrs.get(RUN_ID)
    if parent:
        return str(parent)
    from mlflow.tracking import MlflowClient

    from artclf.tracking.retry import retry_locked
    from artclf.tracking.runs import _experiment_id, git_tags
    from artclf.tracking.store import ensure_store

    uri = str(cfg.logger.tracking_uri)
    ensure_store(uri)
    client = MlflowClient(uri)
    experiment_id = retry_locked(_experiment_id, client, str(cfg.logger.experiment_name), uri)
    tags = {"artclf.role": "study", "optuna.study": str(cfg.study), **git_tags()}
    run = client.create_run(experiment_id, run_name=f"study-{cfg.study}", tags=tags)
    study.set_user_attr(RUN_ID, run.info.run_id)
    return run.info.run_id


def open_study(cfg: DictConfig) -> tuple[optuna.Study, str | None, int]:
    """Create or load the study, its MLflow parent and this process's worker number, under
    the storage's lock (parallel first starts would race on the schema and the parent)."""
    from artclf.tracking.store import ensure_ready, store_lock

    tune = cfg.tune
    with warnings.catch_warnings():  # experimental in name only: unchanged since optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=2)
    url = str(tune.storage)
    ensure_ready(url, lambda _: _storage(tune, retry))
    with store_lock(url):
        probe = optuna.create_study(
            study_name=str(cfg.study),
            storage=_storage(tune, retry),
            direction="maximize" if cfg.optimized.mode == "max" else "minimize",
            load_if_exists=True,
        )
        worker = int(probe.user_attrs.get("workers", 0))
        probe.set_user_attr("workers", worker + 1)
        parent = _study_parent(cfg, probe)
        recovered = recover_dead_trials(probe, retry)
    if recovered:
        log.warning("%d trial(s) of a stopped process failed; queued again", recovered)
    study = optuna.load_study(
        study_name=str(cfg.study),
        storage=_storage(tune, retry),
        sampler=_sampler(tune, worker),
        pruner=_pruner(tune),
    )
    return study, parent, worker


def tune(cfg: DictConfig) -> Outcome:
    """Run trials until the study holds ``cfg.n_trials`` finished (complete or pruned) ones,
    sharing the work with any other process on the same study."""
    if not cfg.tune.get("params"):
        raise ValueError("the search has no tune.params to sample")
    study, parent, _ = open_study(cfg)
    target = int(cfg.n_trials)
    missing = target - sum(t.state in FINISHED for t in study.trials)
    if missing > 0:
        stop = optuna.study.MaxTrialsCallback(target, states=FINISHED)
        study.optimize(objective_for(cfg, parent), callbacks=[stop], catch=())
    return Outcome(study, parent)
