"""Style transfer rows: Gatys on Lite0 taps against VGG19 taps, and AdaIN against Gatys."""

from __future__ import annotations

import time

import torch

from benchmarks.common import Row, throughput


def style_transfer_row(size: int, steps: int) -> Row:
    """Gatys transfer on EfficientNet-Lite0 taps (our offline default) vs the studies' VGG19
    taps, same images, optimiser and steps; images per minute (weights do not change speed)."""
    from artclf.style.engine import TransferSettings, transfer
    from artclf.style.taps import build_feature_taps

    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=generator)
    style = torch.rand(1, 3, size, size, generator=generator)
    settings = TransferSettings(steps=steps)

    def per_minute(backbone: str) -> float:
        taps = build_feature_taps(backbone, pretrained=False)
        start = time.perf_counter()
        transfer(taps, content, style, settings)
        return 60.0 / (time.perf_counter() - start)

    return Row(
        f"stylize {size}² LBFGS {steps} steps, efficientnet_lite0",
        per_minute("efficientnet_lite0"),
        per_minute("vgg19"),
        "vgg19 taps",
        unit="img/min",
    )


def adain_row(size: int, steps: int, seconds: float) -> Row:
    """Images per minute of AdaIN (one encoder + decoder pass, style statistics included)
    against Gatys on the same Lite0 taps (``steps`` LBFGS evaluations), same image pair;
    weights do not change either's speed, so both use untrained ones."""
    from artclf.style.adain_model import AdaINModule
    from artclf.style.engine import TransferSettings, transfer
    from artclf.style.taps import build_feature_taps

    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=generator)
    style = torch.rand(1, 3, size, size, generator=generator)
    net = AdaINModule(pretrained=False).net.eval()

    def fast() -> int:
        with torch.no_grad():
            net(content, [style])
        return 1

    taps = build_feature_taps("efficientnet_lite0", pretrained=False)
    start = time.perf_counter()
    transfer(taps, content, style, TransferSettings(steps=steps))
    gatys = 60.0 / (time.perf_counter() - start)
    return Row(
        f"stylize {size}² AdaIN, efficientnet_lite0",
        60.0 * throughput(fast, seconds, warmup=1),
        gatys,
        f"Gatys LBFGS {steps} steps",
        unit="img/min",
    )
