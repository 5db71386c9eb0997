"""A trained style network's checkpoint, read through the one source function
(``tracking.sources.read_checkpoint``: path, URL, ``models:/`` or ``runs:/``), with each way
it can be wrong (missing, not a checkpoint, another kind of network) as one line."""

from __future__ import annotations

from typing import Any

from artclf.style.errors import StyleTransferError


def read_trained(source: str, marker: str, preset: str, example: str) -> dict[str, Any]:
    """The checkpoint ``source`` names, whose hyper-parameters hold ``marker`` (a setting only
    that kind of network has); ``preset`` and ``example`` name, in the error, the training
    that writes one and a source that would do."""
    from artclf.tracking.sources import read_checkpoint

    try:
        state = read_checkpoint(source)
    except FileNotFoundError:
        raise StyleTransferError(
            f"checkpoint {source!r} does not exist; pass ckpt_path=.../checkpoints/last.ckpt of "
            f"an `artclf.train experiment={preset}` run, or ckpt_path={example}"
        ) from None
    except ValueError as err:
        raise StyleTransferError(str(err)) from None
    if marker not in (state.get("hyper_parameters") or {}):
        raise StyleTransferError(
            f"{source} is not a checkpoint of `artclf.train experiment={preset}`; "
            f"pass one that it wrote, or ckpt_path={example}"
        )
    return state
