"""One MLflow run per Hydra job: store, experiment, readable name, params, tags, sweep parent."""

from __future__ import annotations

import fcntl
import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from mlflow.entities import Param
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from artclf.runtime.config import flatten
from artclf.tracking import lifecycle, outbox
from artclf.tracking.artifacts import log_texts
from artclf.tracking.command import COMMAND_TAG, job_command
from artclf.tracking.experiments import experiment_id as find_experiment
from artclf.tracking.naming import unique_name
from artclf.tracking.retry import retry_locked
from artclf.tracking.store import ensure_store
from artclf.tracking.sweeps import read_spec, sweep_child_name

log = logging.getLogger(__name__)

#: Options of these config groups name a run (``resnet18_224-light-s42``) and are tagged.
NAMING_GROUPS = ("experiment", "data", "model", "aug", "backbone")
BATCH = 100  # MLflow's per-request limit on params and tags


def _hydra() -> HydraConfig | None:
    return HydraConfig.get() if HydraConfig.initialized() else None


def _choices(cfg: DictConfig) -> dict[str, str]:
    """The config choices of the run; a retrain's (``experiment=retrain``) are those of the
    version it retrains, whose recipe it took, with ``experiment`` saying ``retrain``."""
    hydra = _hydra()
    if hydra is not None:
        choices = {k: str(v) for k, v in hydra.runtime.choices.items() if not k.startswith("hydra")}
    else:
        choices = {g: str(cfg[g].name) for g in NAMING_GROUPS if "name" in cfg.get(g, {})}
    inherited = (cfg.get("retrain") or {}).get("choices") or {}
    return {**choices, **{k: str(v) for k, v in inherited.items() if k != "experiment"}}


def run_name(cfg: DictConfig, naming_groups: tuple[str, ...] = NAMING_GROUPS) -> str:
    """``<experiment|data->model-aug-s<seed>`` from the choices of ``naming_groups`` (what the
    job trains names it: a CycleGAN run is not named after ``model``); inside a multirun the
    swept values (``lr=0.001,model=resnet18_32``), or ``-j<n>`` appended when the sweep spec
    is unknown."""
    if cfg.logger.get("run_name"):
        return str(cfg.logger.run_name)
    if cfg.get("task_name") == "stylize" and cfg.get("ckpt_path"):  # applies a CycleGAN
        return f"cyclegan-{cfg.get('direction', 'a2b')}"
    choices = _choices(cfg)
    parts = [choices[g] for g in naming_groups if choices.get(g) not in (None, "None", "none")]
    if choices.get("data") == "synthetic":
        parts.remove("synthetic")
    if cfg.get("seed") is not None:
        parts.append(f"s{cfg.seed}")
    hydra = _hydra()
    if hydra is not None and hydra.mode == RunMode.MULTIRUN:
        swept = sweep_child_name(hydra)  # lr=0.001,model=resnet18_32
        if swept:
            return swept
        parts.append(f"j{hydra.job.num}")
    return "-".join(parts) or str(cfg.get("task_name", "run"))


def git_tags() -> dict[str, str]:
    """Commit and dirty flag of the source checkout, when there is one."""
    here = Path(__file__).parent

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode:
            raise RuntimeError(out.stderr)
        return out.stdout.strip()

    try:
        return {
            "mlflow.source.git.commit": git("rev-parse", "HEAD"),
            "git.dirty": str(bool(git("status", "--porcelain", "--untracked-files=no"))),
        }
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return {}


def _sweep_parent(client: MlflowClient, experiment_id: str, hydra: HydraConfig) -> str:
    """Find or create the parent run of this sweep, under a file lock so parallel jobs agree."""
    sweep_dir = Path(hydra.sweep.dir).resolve()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / ".mlflow_parent.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        id_file = sweep_dir / ".mlflow_parent_run_id"
        if id_file.exists():
            return id_file.read_text().strip()
        sweep_overrides = read_spec(sweep_dir) or list(hydra.overrides.task)
        parent = client.create_run(
            experiment_id,
            run_name=f"sweep-{sweep_dir.name}",
            tags={"artclf.role": "sweep", "sweep_id": str(sweep_dir), **git_tags()},
        )
        client.log_param(parent.info.run_id, "sweep.overrides", " ".join(sweep_overrides))
        id_file.write_text(parent.info.run_id)
        return parent.info.run_id


def _log_config(client: MlflowClient, run_id: str, cfg: DictConfig) -> None:
    resolved = OmegaConf.to_container(cfg, resolve=True)
    params = [Param(k, str(v)) for k, v in flatten(resolved).items()]
    for start in range(0, len(params), BATCH):
        retry_locked(client.log_batch, run_id, params=params[start : start + BATCH])
    texts = {"config.yaml": OmegaConf.to_yaml(resolved)}
    hydra = _hydra()
    if hydra is not None:
        texts["overrides.yaml"] = OmegaConf.to_yaml(list(hydra.overrides.task))
    log_texts(run_id, texts, artifact_path="config")


@contextmanager
def start_run(
    cfg: DictConfig,
    resume_run_id: str | None = None,
    naming_groups: tuple[str, ...] = NAMING_GROUPS,
) -> Iterator[mlflow.ActiveRun | None]:
    """Open the MLflow run of this job (``None`` when ``logger.enabled`` is false), or
    reopen ``resume_run_id`` (the run that wrote the checkpoint being resumed).

    Params are the full flattened config (no 250-character cut), tags carry the git commit,
    the config choices and the overrides; inside a multirun the run is a child of one parent
    run per sweep (``mlflow.parentRunId``, ``sweep_id``, ``job_num``).
    """
    from artclf.runtime.distributed import launch_rank  # imports Lightning: not for every reader

    if not cfg.logger.enabled or launch_rank() != 0:  # a multi-node job's other tasks
        yield None
        return
    uri = str(cfg.logger.tracking_uri)
    lifecycle.check_store(uri)
    ensure_store(uri)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = retry_locked(find_experiment, client, str(cfg.logger.experiment_name), uri)
    lifecycle.close_stale_runs(client, experiment_id)
    resume = lifecycle.resumable(client, resume_run_id, experiment_id)

    tags: dict[str, Any] = {**git_tags(), "artclf.task": str(cfg.get("task_name", ""))}
    tags.update(lifecycle.process_tags())
    tags.update({f"choice.{k}": v for k, v in _choices(cfg).items() if v != "None"})
    if cfg.logger.get("parent_run_id"):  # a trial of `artclf.tune`, under its study's run
        tags["mlflow.parentRunId"] = str(cfg.logger.parent_run_id)
    hydra = _hydra()
    if hydra is not None:
        tags["overrides"] = " ".join(hydra.overrides.task)
        tags[COMMAND_TAG] = job_command()
        if hydra.mode == RunMode.MULTIRUN:
            parent_id = retry_locked(_sweep_parent, client, experiment_id, hydra)
            tags.update(
                {
                    "mlflow.parentRunId": parent_id,
                    "sweep_id": str(Path(hydra.sweep.dir).resolve()),
                    "job_num": str(hydra.job.num),
                }
            )
    if resume:  # params are immutable: the run keeps those it started with
        run = retry_locked(mlflow.start_run, run_id=resume_run_id)
        client.set_tag(run.info.run_id, "artclf.resumed_from", str(cfg.ckpt_path))
        lifecycle.clear_reasons(client, run.info.run_id)
        for key, value in lifecycle.process_tags().items():
            client.set_tag(run.info.run_id, key, value)
    else:
        name = unique_name(client, experiment_id, run_name(cfg, naming_groups))
        run = retry_locked(mlflow.start_run, experiment_id=experiment_id, run_name=name, tags=tags)
    status, box = "FAILED", None
    try:
        budget = cfg.logger.get("outage_budget_s", outbox.DEFAULT_BUDGET_S)
        box = outbox.open_outbox(uri, run.info.run_id, budget)
        if not resume:
            _log_config(client, run.info.run_id, cfg)
        yield run
        box.flush()  # everything logged reaches the server before the run is FINISHED
        status = "FINISHED"
    except BaseException as error:
        # Lightning turns Ctrl-C into sys.exit(1) raised while handling the KeyboardInterrupt
        if isinstance(error, KeyboardInterrupt) or isinstance(error.__context__, KeyboardInterrupt):
            status = "KILLED"
        elif isinstance(error, lifecycle.Interrupted):
            status = "KILLED"
            lifecycle.record_stop(client, run.info.run_id, error.reason)
        elif isinstance(error, Exception):
            lifecycle.record_failure(client, run.info.run_id, error)
        raise
    finally:
        if box is not None:
            box.close()
        parent = tags.get("mlflow.parentRunId")
        try:  # a server still down: MLflow's bounded retries, then one warning, no traceback
            mlflow.end_run(status=status)
            if parent:
                retry_locked(client.set_terminated, parent, "FINISHED")
        except mlflow.exceptions.MlflowException as error:
            log.warning(
                "could not mark run %s %s (%s); it stays RUNNING until the next run on this "
                "store marks it KILLED, and resuming its checkpoint continues it",
                run.info.run_id,
                status,
                outbox.reason(error),
            )
