"""The style-transfer methods, one table that ``python -m artclf.stylize method=<name>`` and
the app's Stylise tab both read: what each is called, whether it needs a style image and a
trained network, and the function that runs it from a config."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from omegaconf import DictConfig

from artclf.style.errors import StyleTransferError


@dataclass(frozen=True)
class StyleMethod:
    name: str  # method=<name>
    label: str  # what the app shows
    needs_style: bool  # a style image beside the content
    trained: bool  # a trained network (ckpt_path=, a registered model) rather than an optimisation
    #: ``module:function`` that runs it on a stylize config (imported only when it runs)
    command: str

    def run(self, cfg: DictConfig) -> dict[str, float]:
        module, function = self.command.split(":")
        run: Callable[[DictConfig], dict[str, float]] = getattr(
            importlib.import_module(module), function
        )
        return run(cfg)


METHODS: dict[str, StyleMethod] = {
    "gatys": StyleMethod(
        "gatys", "Gatys (EfficientNet-Lite0)", True, False, "artclf.style.stylizing:gatys"
    ),
    "adain": StyleMethod(
        "adain",
        "AdaIN (fast: trained decoder)",
        True,
        True,
        "artclf.style.feedforward:stylize_adain",
    ),
    "cyclegan": StyleMethod(
        "cyclegan",
        "CycleGAN (registered generator)",
        False,
        True,
        "artclf.style.stylizing:translate",
    ),
}


def method_of(cfg: DictConfig) -> StyleMethod:
    """The method ``cfg.method`` names; ``gatys`` with a ``ckpt_path`` applies a CycleGAN (as
    it always has: the checkpoint says which network)."""
    name = str(cfg.get("method", "gatys"))
    if name not in METHODS:
        raise StyleTransferError(f"unknown method {name!r}; choose {', '.join(METHODS)}")
    if name == "gatys" and cfg.get("ckpt_path"):
        return METHODS["cyclegan"]
    return METHODS[name]
