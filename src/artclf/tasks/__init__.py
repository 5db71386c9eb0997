"""What ``artclf.train`` fits, chosen by ``task`` (``classify``, or ``cyclegan``/``adain`` set
by their presets): each task module has ``build(cfg) -> Built``."""

from __future__ import annotations

import importlib
from typing import NamedTuple

import lightning as L
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

TASKS = ("classify", "cyclegan", "adain")


class Built(NamedTuple):
    """A task ready to fit: its module, its datamodule and the callbacks only it needs."""

    module: L.LightningModule
    datamodule: L.LightningDataModule
    callbacks: list[Callback]


def task_of(cfg: DictConfig) -> str:
    task = str(cfg.get("task", "classify"))
    if task not in TASKS:
        raise ValueError(f"task={task!r}; valid choices: {', '.join(TASKS)}")
    return task


def build(cfg: DictConfig) -> Built:
    """The module, datamodule and callbacks of ``cfg.task``."""
    return importlib.import_module(f"artclf.tasks.{task_of(cfg)}").build(cfg)
