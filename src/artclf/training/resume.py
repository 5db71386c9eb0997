"""Resume from a checkpoint alone: ``ckpt_path=<last.ckpt>`` with the default config takes the
model, data, optimiser and scheduler config the checkpoint was trained with (its hyper-
parameters carry them), instead of building the default model and failing to load weights
into it. An explicit setting that contradicts the checkpoint is refused in one line.

A requeued SLURM job runs its command again, without ``ckpt_path``: ``requeued_checkpoint``
finds where it stopped, and the job resumes from there as ``ckpt_path=`` would.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf, open_dict

from artclf.models.optim import LEGACY_OPTIMIZERS, LEGACY_SCHEDULERS, upgrade
from artclf.runtime.config import CONFIG_DIR, to_plain
from artclf.runtime.targets import check_targets
from artclf.weights import checkpoints

log = logging.getLogger(__name__)

#: Config groups a checkpoint fixes: what was trained, on what, and the optimiser state shape.
GROUPS = ("model", "data", "optim", "scheduler")
#: Keys that say where and how to read, not what was trained: an explicit value is kept.
RUNTIME_KEYS = {
    "model": frozenset({"pretrained"}),  # the checkpoint's weights replace any pretrained ones
    "data": frozenset({"root", "batch_size", "num_workers", "cache", "cache_dir"}),
}
#: Compared first, so a conflict names the most telling key.
IDENTITY_KEYS = ("_target_", "name", "arch", "source", "labels")
_ABSENT = object()
#: What Lightning's ``SLURMEnvironment`` writes into the trainer's ``default_root_dir`` (the run
#: folder) on SLURM's warning signal, before it requeues the job.
HPC_CHECKPOINTS = "hpc_ckpt_*.ckpt"


def stored_config(ckpt_path: str | Path) -> dict[str, Any] | None:
    """The checkpoint's hyperparameters when a classification run wrote it, else None."""
    state = checkpoints.read(ckpt_path)  # a local file or an http(s) URL, weights-only
    stored = state.get("hyper_parameters") or {}
    if not {"model", "data"} <= stored.keys():
        return None
    check_targets({g: stored.get(g) for g in GROUPS}, Path(str(ckpt_path)).name)
    # older checkpoints name their optimiser and schedule; compare them as _target_ specs
    stored["optim"] = upgrade(stored.get("optim"), LEGACY_OPTIMIZERS)
    stored["scheduler"] = upgrade(stored.get("scheduler"), LEGACY_SCHEDULERS)
    return stored


def default_config(config_name: str) -> DictConfig:
    """The entry config composed without any override: what "not set explicitly" means."""
    if GlobalHydra.instance().is_initialized():
        return compose(config_name=config_name)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=config_name)


def _ordered(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: (IDENTITY_KEYS.index(k) if k in IDENTITY_KEYS else 99, k))


def reconcile(
    cfg: DictConfig, stored: dict[str, Any], defaults: DictConfig, ckpt_name: str
) -> dict[str, dict[str, Any]]:
    """Each group as the checkpoint stored it, with the explicitly set runtime keys of ``cfg``
    on top. A value set explicitly (differing from ``defaults``) that differs from the
    checkpoint's raises ``ValueError`` naming both values."""
    groups = {}
    for group in GROUPS:
        if not isinstance(stored.get(group), dict):
            continue
        current, default = to_plain(cfg.get(group)), to_plain(defaults.get(group))
        merged = dict(stored[group])
        for key in _ordered(list(current)):
            value = current[key]
            if default.get(key, _ABSENT) == value:
                continue  # not set by the user: the checkpoint's value stands
            if key not in merged or key in RUNTIME_KEYS.get(group, ()):
                merged[key] = value
            elif merged[key] != value:
                raise ValueError(
                    f"{ckpt_name} was trained with {group}.{key}={merged[key]!r} but this run "
                    f"sets {group}.{key}={value!r}; drop that override to resume (the checkpoint "
                    "brings its own config), or train a new run without ckpt_path"
                )
        groups[group] = merged
    return groups


def config_from_checkpoint(cfg: DictConfig) -> DictConfig:
    """``cfg`` with the groups of ``cfg.ckpt_path`` when resuming a classification run (the
    classify ``Task`` calls this); the config unchanged otherwise. Says in one line what it
    took."""
    if not cfg.get("ckpt_path"):
        return cfg
    stored = stored_config(cfg.ckpt_path)
    if stored is None:
        return cfg
    name = HydraConfig.get().job.config_name if HydraConfig.initialized() else "train"
    ckpt_name = Path(str(cfg.ckpt_path)).name
    groups = reconcile(cfg, stored, default_config(str(name)), ckpt_name)
    resumed = cfg.copy()
    with open_dict(resumed):
        for group, values in groups.items():
            resumed[group] = OmegaConf.create(values)
    model, data = groups["model"], groups["data"]
    log.info(
        "resuming from %s: model %s, data %s (%s) and optimiser taken from the checkpoint",
        cfg.ckpt_path,
        model.get("name", model.get("arch")),
        Path(str(data.get("root"))).name,
        data.get("labels"),
    )
    return resumed


def requeued_checkpoint(cfg: DictConfig, checkpoint_dir: Path) -> Path | None:
    """Where a requeued SLURM job goes on from; None for any other start.

    A job is requeued when Lightning's SIGUSR1 handler saved ``hpc_ckpt_<N>.ckpt`` in its run
    folder and ran ``scontrol requeue``, or when SLURM requeued it itself
    (``SLURM_RESTART_COUNT``, e.g. after preemption). The requeue stops the job with SIGTERM, on
    which ``SaveOnStop`` writes ``last.ckpt`` at a batch boundary; the handler saves at whatever
    point the signal came, so of the checkpoints the furthest into training wins and
    ``last.ckpt`` wins a tie. A run given ``ckpt_path`` keeps it."""
    if cfg.get("ckpt_path") or not SLURMEnvironment.detect():
        return None
    saved = sorted(Path(cfg.paths.run_dir).glob(HPC_CHECKPOINTS))
    if not saved and int(os.environ.get("SLURM_RESTART_COUNT") or 0) == 0:
        return None
    last = checkpoint_dir / "last.ckpt"
    candidates = [last, *saved] if last.is_file() else saved
    if not candidates:
        return None  # requeued before its first checkpoint: it starts again
    newest = max(candidates, key=lambda path: int(checkpoints.read(path).get("global_step", 0)))
    log.info("resuming requeued job from %s", newest)
    return newest


def with_checkpoint(cfg: DictConfig, ckpt_path: Path) -> DictConfig:
    """``cfg`` resuming ``ckpt_path``."""
    resumed = cfg.copy()
    with open_dict(resumed):
        resumed.ckpt_path = str(ckpt_path)
    return resumed
