"""The style-transfer methods the Stylise tab offers. Each is a ``Method``: a name, whether it
needs a style image, and a function from content (and style) to the result that reports its
progress. Adding a method is one function and one entry in ``METHODS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from artclf.style import TransferSettings, build_feature_taps, transfer
from artclf.style import image_io as io
from artclf.style.colour import preserve_colour

#: ``progress(fraction_done, intermediate_image_or_None)``
Progress = Callable[[float, Tensor | None], None]
GATYS_BACKBONE = "efficientnet_lite0"


@dataclass(frozen=True)
class Method:
    name: str
    needs_style: bool
    #: ``load(model_source_or_None)``: the network ``run`` needs; the page caches it
    load: Callable[[str | None], Any]
    #: ``run(content, style, options, progress, network)``: ``(1, 3, H, W)`` in [0, 1]
    run: Callable[[Tensor, Tensor | None, dict[str, Any], Progress, Any], Tensor]


def load_gatys(source: str | None = None) -> Any:
    """The frozen EfficientNet-Lite0 feature taps (ImageNet weights bundled, works offline)."""
    return build_feature_taps(GATYS_BACKBONE, pretrained=True)


def load_cyclegan(source: str | None) -> Any:
    """The photo → painting generator of a registered CycleGAN (or a checkpoint path)."""
    from artclf.app.store import checkpoint_of
    from artclf.style.cyclegan import load_generator

    if not source:
        raise ValueError("no CycleGAN is registered; train one with experiment=cyclegan_monet")
    return load_generator(str(checkpoint_of(source)), "a2b")


def load_adain(source: str | None) -> Any:
    """The trained AdaIN network of a registered model (``models:/…``) or a checkpoint path."""
    from artclf.style.adain_model import load_adain as load

    if not source:
        raise ValueError(
            "no AdaIN decoder chosen; train one with `python -m artclf.train experiment=adain` "
            "or give the path of its checkpoint"
        )
    return load(source)


def run_gatys(
    content: Tensor, style: Tensor | None, options: dict[str, Any], progress: Progress, taps: Any
) -> Tensor:
    """Gatys by LBFGS for ``options["steps"]`` evaluations, reporting after every chunk."""
    settings = TransferSettings(steps=int(options["steps"]), seed=0)
    style = io.fit_to(style, *content.shape[-2:])

    def report(done: int, image: Tensor) -> None:
        progress(min(1.0, done / settings.steps), image)

    return transfer(taps, content, style, settings, on_progress=report).image


def run_cyclegan(
    content: Tensor, style: Tensor | None, options: dict[str, Any], progress: Progress, generator
) -> Tensor:
    """One pass of a trained CycleGAN generator (photo → painting): instant."""
    from artclf.style.cyclegan.apply import translate

    output = translate(generator, content)
    progress(1.0, None)
    return output


def run_adain(
    content: Tensor, style: Tensor | None, options: dict[str, Any], progress: Progress, net
) -> Tensor:
    """One forward pass of a trained AdaIN decoder: ``alpha`` trades content for style,
    ``preserve_colour`` keeps the content's colours."""
    with torch.no_grad():
        output = net(content, [style], float(options.get("alpha", 1.0))).clamp(0, 1)
    if options.get("preserve_colour"):
        output = preserve_colour(output, net.fit_size(content))
    progress(1.0, None)
    return output


METHODS: dict[str, Method] = {
    "Gatys (EfficientNet-Lite0)": Method("gatys", True, load_gatys, run_gatys),
    "AdaIN (fast: trained decoder)": Method("adain", True, load_adain, run_adain),
    "CycleGAN (registered generator)": Method("cyclegan", False, load_cyclegan, run_cyclegan),
}
