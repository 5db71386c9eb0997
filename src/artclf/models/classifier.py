"""A backbone, a neck and one classifier per task, built from ``conf/model/*.yaml``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from artclf.models.backbones import create_backbone
from artclf.models.frozen import FrozenSplit, frozen_split
from artclf.models.heads import DenseClassifier, GramNeck, create_neck, neck_kind

log = logging.getLogger(__name__)


class Classifier(nn.Module):
    """``forward`` gives ``{task: logits}``, one head per task (one task is a dict of one), so
    no caller asks how many tasks there are before reading the output."""

    def __init__(
        self, body: nn.Module, neck: nn.Module, heads: dict[str, nn.Module], cam_layer: str
    ) -> None:
        super().__init__()
        self.body = body
        self.neck = neck
        self.heads = nn.ModuleDict(heads)
        self.cam_layer = f"body.{cam_layer}"  # dotted name for Grad-CAM, from the model root
        self.uses_taps = isinstance(neck, GramNeck)
        #: the frozen first layers run as inference (``model.freeze_mode``), else None
        self.frozen: FrozenSplit | None = None

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if self.frozen is not None:
            return self.forward_frozen_output(self.frozen.features(images))
        if self.uses_taps:
            features, taps = self.body.forward_taps(images)
        else:
            features, taps = self.body(images), []
        vector = self.neck(features, taps)
        return {task: head(vector) for task, head in self.heads.items()}

    def forward_frozen_output(self, features: Tensor) -> dict[str, Tensor]:
        """``{task: logits}`` from the frozen layers' output (``FrozenSplit.features``, or
        its cached copy)."""
        vector = self.neck(self.frozen.rest(features), [])
        return {task: head(vector) for task, head in self.heads.items()}

    def train(self, mode: bool = True) -> Classifier:
        """As ``nn.Module.train``, but frozen layers run as inference stay in eval mode."""
        super().train(mode)
        if self.frozen is not None:
            self.frozen.eval()
        return self


def freeze(model: Classifier, prefixes: list[str] | str) -> None:
    """Stop gradients into backbone modules named by ``prefixes`` (dotted names inside the
    body, e.g. ``layer1`` or ``model.blocks.0``), or into the whole body with ``"all"``."""
    if prefixes == "all":
        model.body.requires_grad_(False)
        return
    names = {name for name, _ in model.body.named_modules() if name}
    unknown = [p for p in prefixes if p not in names]
    if unknown:
        top = sorted(n for n in names if n.count(".") <= 1)[:40]
        raise ValueError(f"model.freeze: no layer {unknown}; valid names include: {', '.join(top)}")
    for name, param in model.body.named_parameters():
        if any(name.startswith(p + ".") for p in prefixes):
            param.requires_grad_(False)


def create_classifier(
    model_cfg: dict[str, Any], num_classes: Mapping[str, int], pretrained: bool = True
) -> Classifier:
    """Build the network a model config describes, with a head per task (``num_classes``:
    task -> number of classes). ``pretrained=False`` skips loading weights (a checkpoint will
    overwrite them)."""
    backbone = create_backbone(
        model_cfg["arch"],
        image_size=model_cfg["image_size"],
        pretrained=model_cfg.get("pretrained", False) if pretrained else False,
        name=str(model_cfg.get("name", "")),
    )
    neck = create_neck(
        neck_kind(model_cfg),
        backbone.n_taps,
        pool=str(model_cfg.get("pool", "avg")),
        gram_channels=int(model_cfg.get("gram_channels", 32)),
    )
    heads = {
        task: DenseClassifier(
            n,
            hidden=list(model_cfg.get("hidden") or []),
            dropout=float(model_cfg.get("dropout", 0.0)),
            batchnorm=bool(model_cfg.get("batchnorm", False)),
        )
        for task, n in num_classes.items()
    }
    model = Classifier(backbone.body, neck, heads, backbone.cam_layer)
    size = model_cfg["image_size"]
    was_training = model.training
    model.eval()  # materialise lazy layers; eval so BatchNorm accepts a batch of one
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    frozen = model_cfg.get("freeze") or []
    if frozen and pretrained and not model_cfg.get("pretrained"):
        log.warning(
            "model.freeze=%s with model.pretrained=false: the frozen layers keep random weights "
            "and only the rest learns; set model.pretrained=true (or a weights file) or "
            "model.freeze=[]",
            frozen if isinstance(frozen, str) else list(frozen),
        )
    freeze(model, frozen)
    mode = str(model_cfg.get("freeze_mode", "train"))
    model.frozen = frozen_split(model.body, mode)
    if model.frozen is not None and model.uses_taps:
        raise ValueError(
            f"model.freeze_mode={mode} with model.neck={neck_kind(model_cfg)}: the Gram neck "
            "reads every stage, frozen ones too; set model.freeze_mode=train or model.neck=pool"
        )
    return model.train(was_training)
