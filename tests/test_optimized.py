"""The optimised metric and its direction are declared once and every watcher follows them."""

from __future__ import annotations

import torch

from artclf.config import to_plain
from artclf.models.optim import build_optimization


def plateau_lrs(cfg, values: list[float]) -> list[float]:
    """The learning rate after each epoch when the watched metric takes ``values``."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    built = build_optimization(
        [parameter],
        to_plain(cfg.optim),
        to_plain(cfg.scheduler),
        max_epochs=len(values),
        monitor=str(cfg.optimized.metric),
    )
    schedule = built["lr_scheduler"]["scheduler"]
    assert built["lr_scheduler"]["monitor"] == cfg.optimized.metric
    lrs = []
    for value in values:
        schedule.step(value)
        lrs.append(built["optimizer"].param_groups[0]["lr"])
    return lrs


def test_plateau_steps_the_way_of_a_minimised_metric(make_cfg) -> None:
    cfg = make_cfg("optimized_metric=val/loss", "optimized_mode=min", "scheduler=plateau")
    lr = float(cfg.optim.lr)
    improving = plateau_lrs(cfg, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5])  # a falling loss: keep the lr
    assert improving == [lr] * 6
    worsening = plateau_lrs(cfg, [1.0, 1.1, 1.2, 1.3, 1.4])  # patience 2, then cut by 10
    assert worsening[-1] < lr
    callbacks = cfg.callbacks
    assert callbacks.checkpoint.monitor == callbacks.early_stopping.monitor == "val/loss"
    assert callbacks.checkpoint.mode == callbacks.early_stopping.mode == "min"


def test_default_watches_accuracy_upwards(make_cfg) -> None:
    cfg = make_cfg("scheduler=plateau")
    assert (cfg.optimized.metric, cfg.optimized.mode) == ("val/acc", "max")
    assert plateau_lrs(cfg, [0.1, 0.2, 0.3, 0.4, 0.5]) == [float(cfg.optim.lr)] * 5
    assert cfg.callbacks.checkpoint.mode == "max"


def test_presets_set_the_direction_once(make_cfg) -> None:
    cyclegan = make_cfg("experiment=cyclegan_monet", "scheduler=plateau")
    assert (cyclegan.optimized.metric, cyclegan.optimized.mode) == ("val/cycle_loss", "min")
    assert cyclegan.callbacks.checkpoint.mode == cyclegan.scheduler.mode == "min"
    stylize = make_cfg(config_name="stylize")
    assert (stylize.optimized.metric, stylize.optimized.mode) == ("final/style_loss", "min")
