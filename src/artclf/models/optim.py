"""Optimisers and LR schedules from ``conf/optim`` and ``conf/scheduler``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "exponential", "plateau", "cosine")


def build_optimizer(params: Iterable[nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    name, lr, wd = cfg["name"], cfg["lr"], cfg.get("weight_decay", 0.0)
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=cfg.get("momentum", 0.9),
            nesterov=cfg.get("nesterov", False),
            weight_decay=wd,
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optim.name {name!r}; valid choices: {', '.join(OPTIMIZERS)}")


def build_optimization(
    params: Iterable[nn.Parameter],
    optim: dict[str, Any],
    scheduler: dict[str, Any],
    *,
    max_epochs: int,
    monitor: str,
) -> dict[str, Any]:
    """What ``LightningModule.configure_optimizers`` returns: optimiser and per-epoch schedule."""
    optimizer = build_optimizer(params, optim)
    name = scheduler.get("name", "none")
    if name == "none":
        return {"optimizer": optimizer}
    if name == "exponential":
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=scheduler["gamma"])
    elif name == "plateau":
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode=scheduler["mode"],
            factor=scheduler["factor"],
            patience=scheduler["patience"],
        )
    elif name == "cosine":
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, max_epochs), eta_min=scheduler.get("eta_min", 0.0)
        )
    else:
        raise ValueError(f"unknown scheduler.name {name!r}; valid choices: {', '.join(SCHEDULERS)}")
    return {
        "optimizer": optimizer,
        "lr_scheduler": {"scheduler": schedule, "interval": "epoch", "monitor": monitor},
    }
