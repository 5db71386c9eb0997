"""Optimisers and LR schedules from ``conf/optim`` and ``conf/scheduler``.

``optim.layer_decay`` (0 < d < 1) gives a timm backbone's blocks learning rates that shrink
by ``d`` per block from the top down (layer-wise LR decay): the ImageNet features of the early
blocks move least. ``scheduler=warmup_cosine`` ramps the LR up linearly for
``warmup_epochs`` and then follows a cosine to ``eta_min``, updated every step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "exponential", "plateau", "cosine", "warmup_cosine")

ParamSpec = Iterable[nn.Parameter] | list[dict[str, Any]]


def parameter_groups(net: nn.Module, optim: dict[str, Any]) -> ParamSpec:
    """The trainable parameters of ``net`` (a ``Classifier``), in layer-decay groups with
    their own ``lr`` when ``optim.layer_decay`` is set (timm backbones only)."""
    decay = optim.get("layer_decay")
    trainable = [p for p in net.parameters() if p.requires_grad]
    if not decay:
        return trainable
    backbone = getattr(getattr(net, "body", None), "model", None)
    if backbone is None or not hasattr(backbone, "group_matcher"):
        raise ValueError(
            "optim.layer_decay needs a timm backbone (model=efficientnet_lite0|1|2 or "
            "model=timm); set optim.layer_decay=null for this model"
        )
    if not 0 < float(decay) <= 1:
        raise ValueError(f"optim.layer_decay={decay}; must be in (0, 1]")
    from timm.optim import param_groups_layer_decay

    lr, wd = float(optim["lr"]), float(optim.get("weight_decay", 0.0))
    groups = param_groups_layer_decay(backbone, weight_decay=wd, layer_decay=float(decay))
    for group in groups:
        group["lr"] = lr * group.pop("lr_scale")
    in_backbone = {id(p) for p in backbone.parameters()}
    rest = [p for p in trainable if id(p) not in in_backbone]
    return [*groups, {"params": rest, "lr": lr}]


def build_optimizer(params: ParamSpec, cfg: dict[str, Any]) -> torch.optim.Optimizer:
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


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, floor: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``floor`` × the base LR."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_optimization(
    params: ParamSpec,
    optim: dict[str, Any],
    scheduler: dict[str, Any],
    *,
    max_epochs: int,
    monitor: str,
    total_steps: int | None = None,
) -> dict[str, Any]:
    """What ``LightningModule.configure_optimizers`` returns: optimiser and schedule
    (per epoch; per step for ``warmup_cosine``, which needs ``total_steps``)."""
    optimizer = build_optimizer(params, optim)
    name = scheduler.get("name", "none")
    if name == "none":
        return {"optimizer": optimizer}
    if name == "warmup_cosine":
        total = max(1, int(total_steps or max_epochs))
        warmup = round(total * float(scheduler.get("warmup_epochs", 1)) / max(1, max_epochs))
        floor = float(scheduler.get("eta_min", 0.0)) / float(optim["lr"])
        schedule = warmup_cosine(optimizer, max(1, warmup), total, floor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
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
