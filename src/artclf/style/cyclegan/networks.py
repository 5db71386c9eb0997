"""CycleGAN's networks: the ResNet generator (images in [-1, 1] to images in [-1, 1]) and the
70×70 PatchGAN discriminator. ``upsample="resize"`` replaces transposed convolutions by
nearest-neighbour upsampling + convolution, which avoids checkerboard artefacts."""

from __future__ import annotations

from torch import Tensor, nn


class ResnetBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _up(in_ch: int, out_ch: int, mode: str) -> list[nn.Module]:
    if mode == "deconv":
        conv: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, 3, 2, 1, output_padding=1)]
    elif mode == "resize":
        conv = [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1),
            nn.Conv2d(in_ch, out_ch, 3),
        ]
    else:
        raise ValueError(f"unknown upsample {mode!r}; choose deconv or resize")
    return [*conv, nn.InstanceNorm2d(out_ch), nn.ReLU(True)]


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings,
    c7s1-3 with tanh: images in [-1, 1] to images in [-1, 1]."""

    def __init__(self, ngf: int = 64, n_blocks: int = 9, upsample: str = "deconv") -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += _up(ngf * mult, ngf * mult // 2, upsample)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN: C64-C128-C256-C512 (4×4 convs), one real/fake score per patch."""

    def __init__(self, ndf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for i, stride in ((1, 2), (2, 2), (3, 1)):
            in_ch, out_ch = ndf * 2 ** (i - 1), ndf * 2**i
            layers += [
                nn.Conv2d(in_ch, out_ch, 4, stride, 1),
                nn.InstanceNorm2d(out_ch),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * 8, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
