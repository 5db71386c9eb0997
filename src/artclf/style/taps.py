"""Frozen feature taps per backbone: which layers carry content and which carry style.

VGG19 and ResNet50 use the layers of the published studies. EfficientNet-Lite0 is the
backbone that works offline; its taps follow the same recipe as the studies' choices:
style from the stem activation and one stage output per resolution (stride 2, 4, 8, 16, 32:
``bn1`` — the stem conv + BN + ReLU6 — and ``blocks.1, 2, 4, 5``), so colour and brush
texture (fine) as well as larger motifs (coarse) are matched; content from ``blocks.2``
(stride 8), the resolution of ResNet50's ``layer2``, deep enough to ignore texture yet fine
enough to keep the layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from artclf.style.errors import StyleTransferError
from artclf.weights import pretrained as pt


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone and which of its nodes to tap by default."""

    build: Callable[[bool | str], nn.Module]
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


BACKBONES: dict[str, BackboneSpec] = {
    "vgg19": BackboneSpec(
        build=lambda weights: pt.build_torchvision("vgg19", weights),
        content_layers=("features.17",),
        style_layers=("features.1", "features.8", "features.15", "features.26", "features.31"),
        mean=pt.IMAGENET_MEAN,
        std=pt.IMAGENET_STD,
    ),
    "resnet50": BackboneSpec(
        build=lambda weights: pt.build_torchvision("resnet50", weights),
        content_layers=("layer2",),
        style_layers=("relu", "layer1", "layer2", "layer3", "layer4"),
        mean=pt.IMAGENET_MEAN,
        std=pt.IMAGENET_STD,
    ),
    "efficientnet_lite0": BackboneSpec(
        build=lambda weights: pt.load_efficientnet_lite0(pretrained=weights),
        content_layers=("blocks.2",),
        style_layers=("bn1", "blocks.1", "blocks.2", "blocks.4", "blocks.5"),
        mean=pt.LITE0_MEAN,
        std=pt.LITE0_STD,
    ),
}


class FeatureTaps(nn.Module):
    """Frozen, eval-mode backbone returning ``{layer: activation}`` for an RGB image in [0, 1]."""

    def __init__(
        self,
        model: nn.Module,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        super().__init__()
        # timm's wrapper of torchvision's create_feature_extractor: the same FX extraction,
        # plus timm's registry of untraceable leaf modules (TF "same" padding in Lite0).
        from timm.layers import create_feature_extractor

        self.content_layers = list(content_layers)
        self.style_layers = list(style_layers)
        for module in model.modules():
            # An in-place ReLU would overwrite a tapped activation that autograd still needs.
            if hasattr(module, "inplace"):
                module.inplace = False
        nodes = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        self.extractor = create_feature_extractor(model.eval(), return_nodes=nodes)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureTaps:
        """Stay in eval mode: batch-norm statistics of a frozen backbone must not move."""
        return super().train(False)

    def forward(self, image: Tensor) -> dict[str, Tensor]:
        return self.extractor((image - self.mean) / self.std)


def build_feature_taps(
    backbone: str,
    content_layers: Sequence[str] | None = None,
    style_layers: Sequence[str] | None = None,
    pretrained: bool | str = True,
) -> FeatureTaps:
    """Feature taps for a named backbone; layers default to the studies' choices."""
    if backbone not in BACKBONES:
        raise StyleTransferError(
            f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}"
        )
    spec = BACKBONES[backbone]
    try:
        model = spec.build(pretrained)
    except pt.PretrainedWeightsError as err:  # its advice names train's options; use ours
        raise pt.PretrainedWeightsError(
            pt.with_options(str(err), model="backbone=", pretrained="backbone.pretrained=")
        ) from err
    content = list(content_layers or spec.content_layers)
    style = list(style_layers or spec.style_layers)
    try:
        return FeatureTaps(model, content, style, spec.mean, spec.std)
    except ValueError as err:
        raise StyleTransferError(
            f"{backbone}: {str(err).split('. ')[0]}; its default layers are content "
            f"{','.join(spec.content_layers)} and style {','.join(spec.style_layers)}"
        ) from err
