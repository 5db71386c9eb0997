"""A backbone and a head, built from ``conf/model/*.yaml``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from artclf.models.backbones import create_backbone
from artclf.models.heads import LinearHead


class Classifier(nn.Module):
    def __init__(self, body: nn.Module, head: nn.Module, cam_layer: str) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.cam_layer = f"body.{cam_layer}"  # dotted name for Grad-CAM, from the model root

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.body(images))


def freeze(model: nn.Module, prefixes: list[str]) -> None:
    """Stop gradients into backbone modules whose name starts with one of ``prefixes``."""
    names = {name for name, _ in model.body.named_children()}
    unknown = [p for p in prefixes if p.split(".")[0] not in names]
    if unknown:
        raise ValueError(f"model.freeze: no layer {unknown}; valid names: {', '.join(names)}")
    for name, param in model.body.named_parameters():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            param.requires_grad_(False)


def create_classifier(model_cfg: dict[str, Any], num_classes: int, pretrained: bool = True) -> Classifier:
    """Build the network a model config describes. ``pretrained=False`` skips loading weights
    (used when a checkpoint will overwrite them anyway)."""
    backbone = create_backbone(
        model_cfg["arch"],
        image_size=model_cfg["image_size"],
        pretrained=model_cfg.get("pretrained", False) if pretrained else False,
    )
    head_cfg = dict(model_cfg.get("head") or {})
    head = LinearHead(backbone.num_features, num_classes, **head_cfg)
    model = Classifier(backbone.body, head, backbone.cam_layer)
    if head_cfg.get("pool") == "flatten":  # materialise the lazy layer's shape
        size = model_cfg["image_size"]
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    freeze(model, list(model_cfg.get("freeze") or []))
    return model
