"""What changes when a run trains on several processes (``trainer=ddp`` on one machine,
``trainer=slurm`` over the tasks of a SLURM job on one or more nodes)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig

from artclf.runtime.config import to_plain


def launch_rank() -> int:
    """This process's global rank as its launcher set it before Lightning starts: SLURM's
    ``SLURM_PROCID`` in a SLURM job (what Lightning's ``SLURMEnvironment`` reads), torchrun's
    ``RANK``, else 0. Only rank 0 opens the MLflow run: the other tasks of a multi-node job
    run the same command and would each create one."""
    if SLURMEnvironment.detect():
        return int(os.environ["SLURM_PROCID"])
    return int(os.environ.get("RANK", 0))


def check_slurm_tasks(trainer_cfg: DictConfig) -> None:
    """In a SLURM job every task is one training process: the job's task count must be
    ``trainer.num_nodes × trainer.devices``, or each task would train alone (or Lightning
    would stop in its setup, after the run was created)."""
    if not SLURMEnvironment.detect():
        return
    tasks = int(os.environ["SLURM_NTASKS"])
    nodes, devices = trainer_cfg.get("num_nodes", 1), trainer_cfg.get("devices", 1)
    if isinstance(nodes, int) and isinstance(devices, int) and nodes * devices == tasks > 0:
        return
    raise ValueError(
        f"this SLURM job has {tasks} task(s) but trainer.num_nodes × trainer.devices is "
        f"{nodes} × {devices}; on SLURM pass trainer=slurm (and set trainer.num_nodes, "
        "trainer.devices to the nodes, GPUs per node) with -m hydra/launcher=slurm"
    )


def one_device_tester(
    trainer: L.Trainer, trainer_cfg: DictConfig, reports: Sequence[Callback] = ()
) -> L.Trainer:
    """The trainer that tests the best checkpoint: ``trainer`` itself after a one-process
    fit; after a multi-process fit, a one-device trainer in this (rank-zero) process with the
    same logger. A distributed test would pad the split with repeated images (so test metrics
    would not be those of ``artclf.evaluate``) and leave the confusion matrix in the worker
    processes, where the reports cannot see it. The new trainer carries ``reports``, the
    callbacks that log the test's reports."""
    if trainer.world_size == 1:
        return trainer
    settings = {**to_plain(trainer_cfg), "devices": 1, "num_nodes": 1, "strategy": "auto"}
    return L.Trainer(
        **settings,
        logger=trainer.logger,
        default_root_dir=trainer.default_root_dir,
        enable_progress_bar=False,
        enable_checkpointing=False,
        callbacks=list(reports),
    )
