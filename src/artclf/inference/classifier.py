"""What evaluate, predict and explain share: load a training checkpoint, find and decode
input images, and run the network on them the way training fed it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from artclf.data.augment import normalize
from artclf.data.images import read_square_rgb
from artclf.data.resize import checkpoint_resize
from artclf.data.sources.files import IMAGE_EXTENSIONS
from artclf.inference.tta import averaged_probabilities, check_tta
from artclf.models.module import ClassificationModule, upgrade_checkpoint
from artclf.runtime.devices import device_policy
from artclf.runtime.progress import progress
from artclf.tracking.sources import read_checkpoint
from artclf.weights import checkpoints

log = logging.getLogger(__name__)


def load_module(ckpt_path: str | Path) -> ClassificationModule:
    """The trained module on the CPU, in eval mode. Pretrained weights are not fetched: the
    checkpoint's own weights replace them, so this works offline for every backbone. An older
    checkpoint is brought to today's shape first (``upgrade_checkpoint``). A checkpoint of a
    diverged training (NaN weights) is refused: it would predict NaN."""
    state = upgrade_checkpoint(read_checkpoint(ckpt_path))
    hparams = state.get("hyper_parameters") or {}
    if "class_names" not in hparams:
        raise checkpoints.CheckpointError(
            f"{ckpt_path} is not a classifier checkpoint (no class names in it); "
            "pass a .ckpt that classification training wrote"
        )
    checkpoints.require_finite(state["state_dict"], ckpt_path)
    module = ClassificationModule(**hparams, load_pretrained=False)
    module.load_state_dict(state["state_dict"])
    return module.eval()


def image_paths(input_path: str | Path) -> list[Path]:
    """``input_path`` itself, or every image file below it (sorted); the other files (hidden
    ones, notes, metadata) are skipped and counted in one warning."""
    path = Path(input_path).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"input {str(path)!r} does not exist; pass an image or a folder")
    found, other = [], []
    for p in sorted(path.rglob("*")):
        if p.is_file():
            image = p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
            (found if image else other).append(p)
    if not found:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {path}")
    if other:
        examples = ", ".join(p.name for p in other[:3])
        log.warning(
            "skipped %d files that are not images under %s (%s)", len(other), path, examples
        )
    return found


def read_square_batch(
    paths: Sequence[Path], size: int, resize: str | None = None
) -> tuple[list[Path], np.ndarray]:
    """Decode to ``N×size×size×3`` uint8 as training did (``resize``: the checkpoint's
    ``data.resize``, see ``checkpoint_resize``); unreadable files are skipped with a warning
    (one bad file should not sink a folder)."""
    kept, arrays = [], []
    for path in progress(paths, "decode"):
        try:
            arrays.append(read_square_rgb(path, size, resize))
        except OSError as error:
            log.warning("skipped %s: %s", path, error)
            continue
        kept.append(path)
    if not arrays:
        raise ValueError("none of the input images could be decoded; check the files")
    return kept, np.stack(arrays)


def read_as_trained(
    module: ClassificationModule, paths: Sequence[Path], resize: str | None = None
) -> tuple[list[Path], np.ndarray]:
    """``read_square_batch`` at the checkpoint's image size, with the resize policy its
    training data used (``resize``: a user's override)."""
    size = int(module.hparams.model["image_size"])
    return read_square_batch(paths, size, checkpoint_resize(module.hparams.get("data"), resize))


def to_model_input(images: np.ndarray | Tensor) -> Tensor:
    """uint8 ``NHWC`` images to the normalised float ``NCHW`` batch training used."""
    batch = torch.as_tensor(np.asarray(images))
    return normalize(batch.permute(0, 3, 1, 2).float() / 255)


def batches(images: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(images), size):
        yield images[start : start + size]


@torch.inference_mode()
def predict_probabilities(
    module: ClassificationModule,
    images: np.ndarray,
    batch_size: int = 64,
    tta: str = "none",
    shown: bool = True,
) -> dict[str, Tensor]:
    """Softmax probabilities per task, ``{task: (N, classes)}``, on the CPU, averaged over the
    test-time views of ``tta`` (``artclf.inference.tta``). ``shown``: the batches' progress
    (``artclf.runtime.progress``), which a training's report turns off (its own bar is live).

    Where CUDA is, the network runs there in bf16 autocast with channels_last (as it trained;
    ``make bench``'s inference row measures the gain) and is put back where it was; on the CPU
    it runs in fp32, so ``evaluate`` reproduces the test figures of a CPU training exactly."""
    policy = device_policy()  # CUDA + bf16 where there is CUDA (artclf.runtime.devices)
    device, layout = policy.device, policy.layout
    home = next(module.parameters()).device
    module.to(device, memory_format=layout)
    out: dict[str, list[Tensor]] = {task: [] for task in module.tasks}
    try:
        chunks = list(batches(images, batch_size))
        for chunk in progress(chunks, "predict", size=len) if shown else chunks:
            batch = to_model_input(chunk).to(device).contiguous(memory_format=layout)
            with policy.inference_autocast():
                probs = averaged_probabilities(module, batch, tta)
            for task, values in probs.items():
                out[task].append(values.cpu())
    finally:
        module.to(home, memory_format=torch.contiguous_format)
    return {task: torch.cat(parts) for task, parts in out.items()}


def top_labels(
    tasks: dict[str, list[str]], probs: dict[str, Tensor], top_k: int
) -> list[dict[str, list[dict[str, float | str]]]]:
    """Per image, per task, the ``top_k`` classes as ``{"label", "probability"}``, best first
    (what ``predict`` prints and the logged MLflow model returns)."""
    count = len(next(iter(probs.values())))
    results = []
    for i in range(count):
        per_task = {}
        for task, classes in tasks.items():
            top = probs[task][i].topk(min(top_k, len(classes)))
            per_task[task] = [
                {"label": classes[j], "probability": round(float(p), 6)}
                for p, j in zip(top.values, top.indices, strict=True)
            ]
        results.append(per_task)
    return results


def rank(
    module: ClassificationModule,
    images: np.ndarray,
    top_k: int = 5,
    batch_size: int = 64,
    tta: str | None = None,
) -> list[dict[str, list[dict[str, Any]]]]:
    """Per image, ``{task: [{"label", "probability"}, ...]}`` best first: what predict prints
    and the web app shows, computed in one place so the two always agree."""
    probs = predict_probabilities(module, images, batch_size, check_tta(tta))
    return top_labels(module.tasks, probs, top_k)
