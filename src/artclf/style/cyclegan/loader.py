"""A trained CycleGAN generator from a checkpoint file, a URL or a ``models:/`` registry URI."""

from __future__ import annotations

from torch import nn

from artclf.style.cyclegan.module import CycleGAN

DIRECTIONS = ("a2b", "b2a")


def check_direction(direction: str) -> str:
    from artclf.style.errors import StyleTransferError

    if direction not in DIRECTIONS:
        raise StyleTransferError(f"unknown direction {direction!r}; choose a2b or b2a")
    return direction


def load_cyclegan(source: str) -> CycleGAN:
    """The module of a checkpoint (path or URL), a registered version (``models:/…``) or a
    run's artifact (``runs:/…``)."""
    from artclf.style.trained import read_trained

    state = read_trained(source, "lambda_cycle", "cyclegan_monet", "models:/<name>@<alias>")
    module = CycleGAN(**state["hyper_parameters"])
    module.load_state_dict(state["state_dict"])
    return module


def load_generator(ckpt_path: str, direction: str = "a2b") -> nn.Module:
    """The A→B (``a2b``) or B→A (``b2a``) generator of a trained CycleGAN, in eval mode."""
    check_direction(direction)
    module = load_cyclegan(ckpt_path)
    return (module.g_ab if direction == "a2b" else module.g_ba).eval()
