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

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, Trial, TrialState

from artclf.runtime.config import CONFIG_DIR
from artclf.training.tasks import task_of
from artclf.training.validation import check_optimized

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SAMPLERS = ("random", "tpe")
#: Trial attributes that tie a trial to the process running it and to its MLflow run.
HOST, PID, RUN_ID = "host", "pid", "mlflow_run_id"  # RUN_ID: the study's own run


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
    # The search joins the command's config here only: `train search=…` is not a search.
    overrides = [f"+{o}" if o.startswith("search=") else o for o in overrides]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name=command, overrides=overrides)


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


def trial_run_name(study: str, number: int) -> str:
    """The MLflow run name of trial ``number``: how a study finds the run of any trial."""
    return f"{study}-t{number:03d}"


def trial_config(base: DictConfig, trial: Trial, parent_run_id: str | None) -> DictConfig:
    """The base config with the trial's values, its own run folder and its parent run."""
    cfg = copy.deepcopy(base)
    for key, value in suggest(trial, base.tune.params).items():
        OmegaConf.update(cfg, key, value, force_add=False)
    name = trial_run_name(str(base.study), trial.number)
    cfg.paths.run_dir = str(Path(base.paths.output_dir) / "tune" / str(base.study) / name)
    if "logger" in cfg:
        cfg.logger.run_name = name
        cfg.logger.parent_run_id = parent_run_id
    return cfg


def run_trial(cfg: DictConfig, trial: Trial) -> float:
    """The command's library call on ``cfg``; trainings feed the pruner each epoch."""
    if str(cfg.tune.command) == "stylize":
        from artclf.style.stylizing import stylize

        return float(stylize(cfg)[str(cfg.optimized.metric)])
    from artclf.training.fit import train

    if not cfg.tune.pruner.enabled:
        return train(cfg)
    from optuna_integration import PyTorchLightningPruningCallback

    return train(
        cfg, extra_callbacks=[PyTorchLightningPruningCallback(trial, cfg.optimized.metric)]
    )


def close_trial_run(
    cfg: DictConfig,
    parent: str | None,
    number: int,
    state: str,
    params: dict[str, Any] | None = None,
) -> None:
    """Mark the MLflow run of a pruned or dead trial KILLED, tagged with the Optuna state; a
    trial killed before its run existed gets one now (with its ``params``), so the study's
    run has one child per started trial."""
    if parent is None:
        return
    from artclf.tracking.trials import kill_trial_run

    name = trial_run_name(str(cfg.study), number)
    task = str(cfg.get("task_name", ""))
    kill_trial_run(str(cfg.logger.tracking_uri), parent, name, state, task, params)


def objective_for(cfg: DictConfig, parent: str | None) -> Callable[[Trial], float]:
    def objective(trial: Trial) -> float:
        trial.set_user_attr(HOST, socket.gethostname())
        trial.set_user_attr(PID, os.getpid())
        try:
            return run_trial(trial_config(cfg, trial, parent), trial)
        except optuna.TrialPruned:
            close_trial_run(cfg, parent, trial.number, "PRUNED")
            raise

    return objective


StaleCallback = Callable[[optuna.Study, FrozenTrial], None]


def on_stale(cfg: DictConfig, parent: str | None, retry: StaleCallback) -> StaleCallback:
    """What happens to a trial whose process is gone: its run is closed, its values queued."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        close_trial_run(cfg, parent, trial.number, "FAIL", trial.params)
        retry(study, trial)

    return callback


def recover_dead_trials(study: optuna.Study, callback: StaleCallback) -> int:
    """Fail the running trials of processes on this machine that are gone (a killed search)
    and hand them to ``callback``; other machines' trials are left to the storage's heartbeat."""
    host, recovered = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(PID)
        if trial.user_attrs.get(HOST) != host or pid is None or _alive(int(pid)):
            continue
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        callback(study, study._storage.get_trial(trial._trial_id))
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


def _storage(tune: DictConfig, on_stale_trial: StaleCallback | None = None) -> RDBStorage:
    url = str(tune.storage)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return RDBStorage(
        url,
        heartbeat_interval=int(tune.heartbeat_interval),
        grace_period=int(tune.grace_period),
        heartbeat_stale_trial_callback=on_stale_trial,
    )


def _study_parent(cfg: DictConfig, study: optuna.Study) -> str | None:
    """The study's MLflow run, created by the first process and found by every later one."""
    if "logger" not in cfg or not cfg.logger.enabled:
        return None
    parent = study.user_attrs.get(RUN_ID)
    if parent:
        return str(parent)
    from artclf.tracking.trials import create_study_run

    uri, experiment = str(cfg.logger.tracking_uri), str(cfg.logger.experiment_name)
    run_id = create_study_run(uri, experiment, str(cfg.study))
    study.set_user_attr(RUN_ID, run_id)
    return run_id


def open_study(cfg: DictConfig) -> tuple[optuna.Study, str | None, int]:
    """Create or load the study, its MLflow parent and this process's worker number, under
    the storage's lock (parallel first starts would race on the schema and the parent)."""
    from artclf.tracking.store import ensure_ready, store_lock

    tune = cfg.tune
    with warnings.catch_warnings():  # experimental in name only: unchanged since optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=2)
    url = str(tune.storage)
    ensure_ready(url, lambda _: _storage(tune))
    with store_lock(url):
        probe = optuna.create_study(
            study_name=str(cfg.study),
            storage=_storage(tune),
            direction="maximize" if cfg.optimized.mode == "max" else "minimize",
            load_if_exists=True,
        )
        worker = int(probe.user_attrs.get("workers", 0))
        probe.set_user_attr("workers", worker + 1)
        parent = _study_parent(cfg, probe)
        stale = on_stale(cfg, parent, retry)
        recovered = recover_dead_trials(probe, stale)
    if recovered:
        log.warning("%d trial(s) of a stopped process failed; queued again", recovered)
    study = optuna.load_study(
        study_name=str(cfg.study),
        storage=_storage(tune, stale),
        sampler=_sampler(tune, worker),
        pruner=_pruner(tune),
    )
    return study, parent, worker


def tune(cfg: DictConfig) -> Outcome:
    """Run trials until the study holds ``cfg.n_trials`` finished (complete or pruned) ones,
    sharing the work with any other process on the same study."""
    if not cfg.tune.get("params"):
        raise ValueError("the search has no tune.params to sample")
    check_optimized(cfg)  # before the study's direction is fixed in its storage
    if str(cfg.tune.command) == "train":
        task_of(cfg).validate(cfg)
    study, parent, _ = open_study(cfg)
    target = int(cfg.n_trials)
    missing = target - sum(t.state in FINISHED for t in study.trials)
    if missing > 0:
        stop = optuna.study.MaxTrialsCallback(target, states=FINISHED)
        study.optimize(objective_for(cfg, parent), callbacks=[stop], catch=())
    return Outcome(study, parent)
