"""The optimisation loop: find an image whose features match the content and whose Gram
matrices match the style, by LBFGS (Gatys' choice, fewest steps) or Adam."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from artclf.style.colour import preserve_colour
from artclf.style.errors import StyleTransferError
from artclf.style.losses import content_loss, gram_matrix, style_loss, tv_loss
from artclf.style.taps import FeatureTaps

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
#: LBFGS iterations per ``step()`` call; the image is clamped to [0, 1] between calls.
LBFGS_CHUNK = 20


@dataclass
class TransferSettings:
    """Knobs of one optimisation; ``steps`` counts loss evaluations for both optimisers."""

    steps: int = 200
    optimizer: str = "lbfgs"
    lr: float | None = None
    style_weight: float = 1e3
    content_weight: float = 1.0
    tv_weight: float = 10.0
    init: str = "content"
    preserve_colour: bool = False
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise StyleTransferError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.init not in INITS:
            raise StyleTransferError(f"unknown init {self.init!r}; choose content or noise")
        if self.steps < 1:
            raise StyleTransferError(f"steps must be at least 1, got {self.steps}")


@dataclass
class TransferResult:
    """The stylised image, the losses of every evaluation, and the losses of the output."""

    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    style_loss: float = float("nan")
    content_loss: float = float("nan")


class _Objective:
    """Weighted Gatys objective against fixed content features and style Grams."""

    def __init__(
        self, taps: FeatureTaps, content: Tensor, style: Tensor, settings: TransferSettings
    ):
        self.taps = taps
        self.settings = settings
        with torch.no_grad():
            self.content_targets = {k: v for k, v in taps(content).items()}
            self.style_grams = {k: gram_matrix(v) for k, v in taps(style).items()}

    def __call__(self, image: Tensor) -> tuple[Tensor, dict[str, float]]:
        s = self.settings
        features = self.taps(image)
        styl = style_loss(features, self.style_grams, self.taps.style_layers)
        cont = content_loss(features, self.content_targets, self.taps.content_layers)
        tv = tv_loss(image)
        total = s.style_weight * styl + s.content_weight * cont + s.tv_weight * tv
        parts = {"style": styl.item(), "content": cont.item(), "tv": tv.item()}
        return total, {**parts, "total": total.item()}


def _initial_image(content: Tensor, settings: TransferSettings) -> Tensor:
    if settings.init == "content":
        return content.clone(memory_format=torch.contiguous_format)
    generator = torch.Generator().manual_seed(settings.seed or 0)
    return torch.rand(content.shape, generator=generator).to(content)


def transfer(
    taps: FeatureTaps,
    content: Tensor,
    style: Tensor,
    settings: TransferSettings,
    on_step: Callable[[int, dict[str, float]], object] | None = None,
    on_progress: Callable[[int, Tensor], None] | None = None,
) -> TransferResult:
    """Stylise ``content`` with ``style`` (both ``(1, 3, H, W)`` in [0, 1]). ``on_step`` gets
    the number of loss evaluations so far and their latest losses (progress lines);
    ``on_progress`` the evaluations so far and the current image after every Adam step or LBFGS
    chunk (the web app draws its progress bar and intermediate images from it)."""
    objective = _Objective(taps, content, style, settings)
    image = _initial_image(content, settings).requires_grad_(True)
    lr = settings.lr if settings.lr is not None else DEFAULT_LR[settings.optimizer]
    history: list[dict[str, float]] = []

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss, parts = objective(image)
        loss.backward()
        history.append(parts)
        if on_step is not None:
            on_step(len(history), parts)
        return loss

    if settings.optimizer == "adam":
        optimizer = torch.optim.Adam([image], lr=lr)
        for _ in range(settings.steps):
            optimizer.step(closure)
            with torch.no_grad():
                image.clamp_(0, 1)
            if on_progress is not None:
                on_progress(len(history), image.detach())
    else:
        optimizer = torch.optim.LBFGS([image], lr=lr, max_iter=LBFGS_CHUNK, history_size=50)
        while len(history) < settings.steps:
            before = len(history)
            optimizer.param_groups[0]["max_iter"] = min(LBFGS_CHUNK, settings.steps - len(history))
            optimizer.step(closure)
            with torch.no_grad():
                image.clamp_(0, 1)
            if on_progress is not None:
                on_progress(len(history), image.detach())
            if len(history) == before + 1:  # converged: LBFGS stopped after one evaluation
                break

    output = image.detach().clamp(0, 1)
    if settings.preserve_colour:
        output = preserve_colour(output, content)
    with torch.no_grad():
        features = taps(output)
        final_style = style_loss(features, objective.style_grams, taps.style_layers)
        final_content = content_loss(features, objective.content_targets, taps.content_layers)
    return TransferResult(output, history, final_style.item(), final_content.item())
