"""Optimisers and LR schedules from ``conf/optim`` and ``conf/scheduler``.

``optim.layer_decay`` (0 < d < 1) gives a timm backbone's blocks learning rates that shrink
by ``d`` per block from the top down (layer-wise LR decay): the ImageNet features of the early
blocks move least. ``scheduler=warmup_cosine`` ramps the LR up linearly for
``warmup_epochs`` and then follows a cosine to ``eta_min``, updated every step.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

#: Checkpoints written before optimisers had a ``_target_`` name them; they still load.
LEGACY_OPTIMIZERS = {
    "sgd": "torch.optim.SGD",
    "adam": "torch.optim.Adam",
    "adamw": "torch.optim.AdamW",
}
LEGACY_SCHEDULERS = {
    "exponential": "torch.optim.lr_scheduler.ExponentialLR",
    "plateau": "torch.optim.lr_scheduler.ReduceLROnPlateau",
    "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR",
    "warmup_cosine": "artclf.models.optim.warmup_cosine",
}
#: Keys of ``conf/optim`` and ``conf/scheduler`` that are ours, not the constructor's.
OPTIM_KEYS = frozenset({"name", "layer_decay"})
SCHEDULER_KEYS = frozenset({"name", "interval"})

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


def upgrade(spec: dict[str, Any] | None, legacy: dict[str, str]) -> dict[str, Any]:
    """``spec`` with a ``_target_``: a checkpoint's old ``{"name": "adam", ...}`` becomes
    ``{"_target_": "torch.optim.Adam", "_partial_": True, ...}``; ``name: none`` (or no
    spec) becomes ``{"_target_": None}``, no schedule. New specs come back as they are."""
    spec = dict(spec or {})
    name = spec.pop("name", None)
    if "_target_" in spec:
        return spec
    if name in (None, "none"):
        return {"_target_": None}
    if name not in legacy:
        raise ValueError(f"unknown optimiser or schedule {name!r}; valid: {', '.join(legacy)}")
    if name == "cosine":  # old specs took T_max from trainer.max_epochs at fit time
        spec.setdefault("T_max", None)
    if name == "warmup_cosine":
        spec.setdefault("interval", "step")
    return {"_target_": legacy[name], "_partial_": True, **spec}


def _partial(spec: dict[str, Any], ours: frozenset[str], **runtime: Any) -> Any:
    """The ``_partial_`` constructor of ``spec``, with the ``runtime`` facts it names."""
    from hydra.utils import get_method, instantiate

    args = {k: v for k, v in spec.items() if k not in ours}
    target = get_method(args["_target_"])
    try:
        accepted = inspect.signature(target).parameters
    except (TypeError, ValueError):
        accepted = {}
    args.update({k: v for k, v in runtime.items() if k in accepted})
    return instantiate({**args, "_partial_": True})


def build_optimizer(params: ParamSpec, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimiser of ``conf/optim`` (a ``_target_`` with ``_partial_``) over ``params``."""
    return _partial(upgrade(cfg, LEGACY_OPTIMIZERS), OPTIM_KEYS)(params)


def warmup_cosine(
    optimizer: torch.optim.Optimizer,
    warmup_epochs: float = 1.0,
    eta_min: float = 0.0,
    *,
    max_epochs: int,
    total_steps: int | None = None,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_epochs`` (in steps: ``total_steps`` spread over
    ``max_epochs``), then cosine decay to ``eta_min`` (as a fraction of the optimiser's base LR)."""
    total = max(1, int(total_steps or max_epochs))
    warmup_steps = max(1, round(total * float(warmup_epochs) / max(1, max_epochs)))
    floor = float(eta_min) / float(optimizer.defaults["lr"])

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total - warmup_steps))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_optimization(
    params: ParamSpec,
    optim: dict[str, Any],
    scheduler: dict[str, Any] | None,
    *,
    max_epochs: int,
    monitor: str,
    total_steps: int | None = None,
) -> dict[str, Any]:
    """What ``LightningModule.configure_optimizers`` returns: optimiser and schedule (stepped
    per ``scheduler.interval``: epoch, or step for ``warmup_cosine``)."""
    optimizer = build_optimizer(params, optim)
    spec = upgrade(scheduler, LEGACY_SCHEDULERS)
    if spec.get("_target_") is None:
        return {"optimizer": optimizer}
    if "T_max" in spec and spec["T_max"] is None:
        spec["T_max"] = max(1, max_epochs)
    interval = spec.get("interval", "epoch")
    make = _partial(spec, SCHEDULER_KEYS, max_epochs=max_epochs, total_steps=total_steps)
    schedule = {"scheduler": make(optimizer), "interval": interval}
    if interval == "epoch":
        schedule["monitor"] = monitor
    return {"optimizer": optimizer, "lr_scheduler": schedule}
