"""Adaptive instance normalisation (Huang & Belongie 2017): arbitrary style in one forward pass.

The frozen encoder is the same feature taps Gatys uses (``FeatureTaps``); at one tapped layer
(by default the backbone's content layer) the content activation is re-normalised to the
style's per-channel mean and standard deviation, and a decoder trained in the suite
(``artclf.style.adain_model``) maps that target back to an image. Interpolating between styles
mixes their statistics; ``alpha`` blends the target with the content's own features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from artclf.style.errors import StyleTransferError
from artclf.style.losses import mean_std
from artclf.style.taps import FeatureTaps


def adain(content: Tensor, style_mean: Tensor, style_std: Tensor) -> Tensor:
    """``content`` activations with each channel moved to the style's mean and std."""
    mean, std = mean_std(content)
    return (content - mean) / std * style_std + style_mean


class Decoder(nn.Module):
    """Features of stride ``2**n_up`` back to RGB: nearest upsampling + reflection-padded 3×3
    convolutions (no transposed convolutions, hence no checkerboard), no normalisation
    layers (they would wash out the statistics AdaIN has just set)."""

    def __init__(self, in_channels: int, n_up: int, width: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = [*_conv(in_channels, width), *_conv(width, width)]
        for _ in range(n_up):
            half = max(width // 2, 16)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(width, half)]
            layers += _conv(half, half)
            width = half
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(width, 3, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features)


def _conv(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(in_ch, out_ch, 3), nn.ReLU()]


class AdaINNet(nn.Module):
    """Frozen encoder taps + AdaIN at ``layer`` + a trainable decoder; images in [0, 1]."""

    def __init__(self, taps: FeatureTaps, layer: str, decoder_width: int = 256) -> None:
        super().__init__()
        if layer not in taps.content_layers + taps.style_layers:
            raise StyleTransferError(
                f"AdaIN layer {layer!r} is not tapped; choose one of "
                f"{', '.join(dict.fromkeys(taps.content_layers + taps.style_layers))}"
            )
        self.taps, self.layer = taps, layer
        with torch.no_grad():
            probe = taps(torch.zeros(1, 3, 64, 64))[layer]
        stride = 64 // probe.shape[-1]
        self.stride = stride
        self.decoder = Decoder(probe.shape[1], stride.bit_length() - 1, decoder_width)

    def fit_size(self, image: Tensor) -> Tensor:
        """Crop to a multiple of the encoder stride, so the decoded image has the input's size."""
        h, w = image.shape[-2:]
        s = self.stride
        return image[..., : h - h % s or h, : w - w % s or w]

    def style_statistics(
        self, styles: Sequence[Tensor], weights: Sequence[float] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Mean and std at ``layer`` of one or several style images (any sizes), mixed by
        ``weights`` (normalised to sum 1; equal when ``None``): style interpolation."""
        if weights is None:
            weights = [1.0] * len(styles)
        if len(weights) != len(styles) or not styles:
            raise StyleTransferError(
                f"style_weights has {len(weights)} entries for {len(styles)} styles; give one "
                "weight per style"
            )
        if min(weights) < 0 or sum(weights) <= 0:
            raise StyleTransferError(f"style_weights must be ≥ 0 with a positive sum: {weights}")
        total = float(sum(weights))
        means, stds = zip(*(mean_std(self.taps(s)[self.layer]) for s in styles), strict=True)
        mix = torch.tensor([w / total for w in weights]).view(-1, 1, 1, 1, 1)
        return (torch.stack(means) * mix).sum(0), (torch.stack(stds) * mix).sum(0)

    def target(
        self, content: Tensor, style_mean: Tensor, style_std: Tensor, alpha: float = 1.0
    ) -> Tensor:
        """The AdaIN target at ``layer``, blended with the content's own features by ``alpha``."""
        features = self.taps(content)[self.layer]
        return alpha * adain(features, style_mean, style_std) + (1 - alpha) * features

    def forward(
        self,
        content: Tensor,
        styles: Sequence[Tensor],
        alpha: float = 1.0,
        weights: Sequence[float] | None = None,
    ) -> Tensor:
        """Stylise a content batch with the (mixed) statistics of ``styles``; unclamped."""
        if not 0.0 <= alpha <= 1.0:
            raise StyleTransferError(f"alpha must lie in [0, 1] (1 = full style), got {alpha}")
        style_mean, style_std = self.style_statistics(styles, weights)
        return self.decoder(self.target(self.fit_size(content), style_mean, style_std, alpha))
