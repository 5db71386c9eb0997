"""A trained CycleGAN generator from a checkpoint file, a URL or a ``models:/`` registry URI."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from artclf.models.cyclegan.module import CycleGAN

DIRECTIONS = ("a2b", "b2a")


def check_direction(direction: str) -> str:
    from artclf.style.errors import StyleTransferError

    if direction not in DIRECTIONS:
        raise StyleTransferError(f"unknown direction {direction!r}; choose a2b or b2a")
    return direction


def load_cyclegan(source: str) -> CycleGAN:
    """The module of a checkpoint (path or URL) or of a registered version (``models:/…``)."""
    from artclf.checkpoints import checkpoint_errors, fetch, is_url
    from artclf.style.errors import StyleTransferError
    from artclf.tracking.registry import is_model_uri, resolve_checkpoint

    if is_model_uri(source):
        try:
            source = str(resolve_checkpoint(source))
        except ValueError as err:
            raise StyleTransferError(str(err)) from None
    if not is_url(source) and not Path(source).is_file():
        raise StyleTransferError(
            f"checkpoint {source!r} does not exist; pass ckpt_path=.../checkpoints/last.ckpt of "
            "an `artclf.train experiment=cyclegan_monet` run, or ckpt_path=models:/<name>@<alias>"
        )
    with checkpoint_errors(source):
        return CycleGAN.load_from_checkpoint(fetch(source), map_location="cpu", weights_only=True)


def load_generator(ckpt_path: str, direction: str = "a2b") -> nn.Module:
    """The A→B (``a2b``) or B→A (``b2a``) generator of a trained CycleGAN, in eval mode."""
    check_direction(direction)
    module = load_cyclegan(ckpt_path)
    return (module.g_ab if direction == "a2b" else module.g_ba).eval()
