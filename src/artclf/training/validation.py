"""Config values checked before anything runs, so a typo is one line and leaves no run behind.

Hydra types ``trainer.max_epochs=ten`` as a string and accepts ``data.image_size=7``; left
alone they fail deep inside Lightning or the network after an MLflow run was created.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, OmegaConf

from artclf.runtime.preflight import check_writable_dir

#: key -> (minimum, values also allowed): integers and numbers a run cannot work without.
INTEGERS = {
    "trainer.max_epochs": (1, ()),  # Lightning's -1 (train forever) is a typo more often
    "trainer.max_steps": (1, (-1,)),
    "seed": (0, ()),
    "callbacks.early_stopping.patience": (0, ()),
    "trainer.log_every_n_steps": (1, ()),
    "data.batch_size": (1, ()),
    "data.num_workers": (0, ()),
    "model.image_size": (1, ()),  # before data.image_size, which defaults to it
    "data.image_size": (1, ()),
    "model.cache_views": (1, ()),
}
#: key -> whether 0 is allowed: finite numbers.
NUMBERS = {"optim.lr": False, "optim.weight_decay": True}
FRACTIONS = ("data.val_fraction", "data.test_fraction")
OPTIMIZED_MODES = ("max", "min")


def _value(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_values(cfg: DictConfig) -> None:
    """Types and ranges of the keys above (those the config has)."""
    for key, (minimum, allowed) in INTEGERS.items():
        value = _value(cfg, key)
        if value is None:
            continue
        if not _is_int(value) or (value < minimum and value not in allowed):
            also = f" (or {', '.join(map(str, allowed))})" if allowed else ""
            raise ValueError(f"{key}={value!r}; must be an integer ≥ {minimum}{also}")
    for key, zero_ok in NUMBERS.items():
        value = _value(cfg, key)
        if value is None or (_is_number(value) and (value > 0 or (zero_ok and value == 0))):
            continue
        raise ValueError(f"{key}={value!r}; must be a finite number {'≥' if zero_ok else '>'} 0")
    for key in FRACTIONS:
        value = _value(cfg, key)
        if value is not None and not (_is_number(value) and 0 <= value < 1):
            raise ValueError(f"{key}={value!r}; must be a number in [0, 1)")
    if isinstance(cfg.get("data"), DictConfig) and "resize" in cfg.data:
        from artclf.data.resize import check_resize

        check_resize(cfg.data.resize)


def check_devices(trainer: DictConfig) -> None:
    """An accelerator the machine has, and no more CPU processes than it has cores:
    ``trainer=gpu`` without CUDA, or ``trainer.devices=3`` on two cores (three runs), fail
    here in one line, not inside Lightning after a run was created."""
    import os

    import torch

    accelerator = str(trainer.get("accelerator", "auto"))
    devices = trainer.get("devices", "auto")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"trainer.accelerator={accelerator} but this machine has no CUDA GPU; "
            "use trainer=default (CUDA when there is one, else the CPU) or trainer=cpu"
        )
    if accelerator == "cpu" and _is_int(devices) and devices > (os.cpu_count() or 1):
        raise ValueError(
            f"trainer.devices={devices} CPU processes on a machine with {os.cpu_count()} "
            "cores; use trainer.devices=1 (one process uses every core)"
        )


def check_validation(cfg: DictConfig) -> None:
    """A run that watches a ``val/`` metric needs validation images: with
    ``data.val_fraction=0`` it failed after a whole epoch, when the metric never came."""
    metric = str(_value(cfg, "optimized.metric") or "")
    if metric.startswith("val/") and _value(cfg, "data.val_fraction") == 0:
        raise ValueError(
            f"data.val_fraction=0 leaves no validation images but the run watches {metric}; "
            "use a fraction > 0 (e.g. 0.1), or optimized_metric=train/loss optimized_mode=min"
        )


def check_optimized(cfg: DictConfig) -> None:
    """``optimized.mode`` is max or min, and a loss is never maximised: every watcher
    (checkpoint, early stopping, plateau scheduler, tuner, leaderboard) reads this pair, so a
    wrong mode silently keeps the worst epoch and picks the worst job."""
    mode = _value(cfg, "optimized.mode")
    if mode not in OPTIMIZED_MODES:
        raise ValueError(
            f"optimized_mode={mode!r}; valid choices: {', '.join(OPTIMIZED_MODES)}"
            " (e.g. optimized_metric=val/loss optimized_mode=min)"
        )
    metric = str(_value(cfg, "optimized.metric"))
    if metric.rpartition("/")[2].endswith("loss") and mode == "max":
        raise ValueError(
            f"optimized_metric={metric} with optimized_mode=max maximises a loss; "
            "set optimized_mode=min"
        )


def check_classifier_metric(cfg: DictConfig) -> None:
    """For a classifier, ``optimized.metric`` is one the module logs: otherwise Lightning
    stops after the first epoch, or a search optimises nothing."""
    from artclf.models.metrics import classification_metrics

    names = ["loss", *classification_metrics(6, "").keys()]  # 6 classes: top5_acc included
    metric = str(_value(cfg, "optimized.metric"))
    stage, _, name = metric.partition("/")
    if stage in ("train", "val") and name.rpartition("/")[2] in names:  # val/<task>/acc too
        return
    raise ValueError(
        f"optimized_metric={metric!r} is not logged by a classifier; valid choices: "
        + ", ".join(f"val/{n}" for n in names)
        + " (train/… too; val/<column>/… per label column)"
    )


def check_model_input(cfg: DictConfig) -> None:
    """Build the network once without weights and feed it one image of ``data.image_size``:
    a size its layers cannot take fails here, in one line, not after a run was created."""
    import torch

    from artclf.data.spec import DataSpec
    from artclf.models.classifier import create_classifier
    from artclf.runtime.config import to_plain

    model_cfg = to_plain(cfg.model)
    size = int(cfg.data.image_size)
    tasks = {task: 2 for task in DataSpec.from_config(cfg.data).label_columns}  # any class count
    try:
        network = create_classifier(model_cfg, tasks, pretrained=False).eval()
        with torch.no_grad():
            network(torch.zeros(1, 3, size, size))
    except (RuntimeError, ZeroDivisionError) as error:
        first = str(error).strip().splitlines()[0][:160]
        raise ValueError(
            f"model {model_cfg.get('name', model_cfg.get('arch'))} cannot take "
            f"model.image_size={model_cfg['image_size']} / data.image_size={size} images "
            f"({first}); use a larger size, e.g. the model's default"
        ) from None


def validate_train(cfg: DictConfig) -> None:
    """Everything ``train`` can check before it creates a run."""
    from artclf.runtime.distributed import check_slurm_tasks  # imports Lightning: only for train

    check_values(cfg)
    check_optimized(cfg)
    check_validation(cfg)
    check_devices(cfg.trainer)
    check_slurm_tasks(cfg.trainer)
    check_writable_dir(cfg.paths.run_dir, "run folder")
