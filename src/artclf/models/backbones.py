"""Feature extractors: image batch -> feature map ``(B, C, H, W)``.

Each builder returns a ``Backbone`` that also names the layer Grad-CAM should look at, so
explanation code never has to know an architecture.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from artclf.pretrained import build_torchvision


@dataclass
class Backbone:
    body: nn.Module  # image -> feature map
    num_features: int  # channels of the feature map
    cam_layer: str  # dotted name, inside ``body``, of the layer to explain


def simple_cnn(image_size: int, pretrained: bool | str = False, **_: object) -> Backbone:
    """The seed study's baseline: two 3x3 conv layers with ReLU, each followed by 2x2 pooling."""
    if pretrained:
        raise ValueError("model.pretrained: simple_cnn has no pretrained weights; set it to false")
    body = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )
    return Backbone(body, 64, cam_layer="3")


def _torchvision_resnet(name: str) -> Callable[..., Backbone]:
    def build(image_size: int, pretrained: bool | str = False, **_: object) -> Backbone:
        net = build_torchvision(name, pretrained)
        body = nn.Sequential(OrderedDict((stage, getattr(net, stage)) for stage in _RESNET_STAGES))
        return Backbone(body, net.fc.in_features, cam_layer="layer4")

    build.__doc__ = f"torchvision {name} without its pooling and classifier."
    return build


_RESNET_STAGES = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")

BACKBONES: dict[str, Callable[..., Backbone]] = {
    "simple_cnn": simple_cnn,
    "resnet18": _torchvision_resnet("resnet18"),
    "resnet50": _torchvision_resnet("resnet50"),
}


def create_backbone(arch: str, image_size: int, pretrained: bool | str = False) -> Backbone:
    if arch not in BACKBONES:
        raise ValueError(
            f"unknown model.arch {arch!r}; valid choices: {', '.join(sorted(BACKBONES))}"
        )
    return BACKBONES[arch](image_size=image_size, pretrained=pretrained)
