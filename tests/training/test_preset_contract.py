"""The contract every experiment preset keeps: it composes, names a training task that
builds, and every watcher of the run (best checkpoint, early stopping, plateau scheduler,
Optuna's direction, the leaderboard) reads the one ``optimized`` metric in the one mode."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from artclf.reporting.leaderboard import objective
from artclf.runtime.config import CONFIG_DIR, flatten, to_plain
from artclf.training.tasks import TASKS, task_of
from artclf.training.validation import check_optimized

PRESETS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_watcher_reads_the_optimized_metric_in_its_mode(make_cfg, preset: str) -> None:
    cfg = make_cfg(f"experiment={preset}", "scheduler=plateau")
    OmegaConf.resolve(cfg)
    metric, mode = cfg.optimized.metric, cfg.optimized.mode
    check_optimized(cfg)  # a loss is minimised
    assert task_of(cfg).name in TASKS
    for watcher in ("checkpoint", "early_stopping"):
        assert cfg.callbacks[watcher].monitor == metric, watcher
        assert cfg.callbacks[watcher].mode == mode, watcher
    assert cfg.scheduler.mode == mode
    logged = SimpleNamespace(data=SimpleNamespace(params=flatten(to_plain(cfg))))  # its params
    assert objective([logged]) == (metric, mode)


def test_adain_minimises_its_loss(make_cfg) -> None:
    """The preset set ``optimized_metric: val/loss`` but not the mode: the composed mode was
    ``max``, so ``tune experiment=adain`` maximised the loss."""
    cfg = make_cfg("experiment=adain")
    assert (cfg.optimized.metric, cfg.optimized.mode) == ("val/loss", "min")
