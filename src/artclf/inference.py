"""What evaluate, predict and explain share: load a training checkpoint, find and decode
input images, and run the network on them the way training fed it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from artclf.data.augment import normalize
from artclf.data.images import load_image
from artclf.models.module import ClassificationModule
from artclf.models.tta import averaged_probabilities

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})


def load_module(ckpt_path: str | Path) -> ClassificationModule:
    """The trained module on the CPU, in eval mode. Pretrained weights are not fetched: the
    checkpoint's own weights replace them, so this works offline for every backbone."""
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"ckpt_path {str(path)!r} does not exist; pass a .ckpt that training wrote"
        )
    module = ClassificationModule.load_from_checkpoint(
        path, map_location="cpu", weights_only=True, load_pretrained=False
    )
    return module.eval()


def source_run_id(ckpt_path: str | Path) -> str | None:
    """The MLflow run that wrote the checkpoint (None for runs without tracking)."""
    state = torch.load(Path(ckpt_path).expanduser(), map_location="cpu", weights_only=True)
    return state.get("mlflow_run_id")


def image_paths(input_path: str | Path) -> list[Path]:
    """``input_path`` itself, or every image file below it (sorted, hidden files skipped)."""
    path = Path(input_path).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"input {str(path)!r} does not exist; pass an image or a folder")
    found = sorted(
        p
        for p in path.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    if not found:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {path}")
    return found


def load_images(
    paths: Sequence[Path], size: int, resize: str | None = None
) -> tuple[list[Path], np.ndarray]:
    """Decode to ``N×size×size×3`` uint8 as training did (``resize``: the checkpoint's
    ``data.resize``, see ``checkpoint_resize``); unreadable files are skipped with a warning
    (one bad file should not sink a folder)."""
    kept, arrays = [], []
    for path in paths:
        try:
            arrays.append(load_image(path, size, resize))
        except OSError as error:
            log.warning("skipped %s: %s", path, error)
            continue
        kept.append(path)
    if not arrays:
        raise ValueError("none of the input images could be decoded; check the files")
    return kept, np.stack(arrays)


def to_model_input(images: np.ndarray | Tensor) -> Tensor:
    """uint8 ``NHWC`` images to the normalised float ``NCHW`` batch training used."""
    batch = torch.as_tensor(np.asarray(images))
    return normalize(batch.permute(0, 3, 1, 2).float() / 255)


def batches(images: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(images), size):
        yield images[start : start + size]


@torch.inference_mode()
def predict_probabilities(
    module: ClassificationModule, images: np.ndarray, batch_size: int = 64, tta: str = "none"
) -> dict[str, Tensor]:
    """Softmax probabilities per task, ``{task: (N, classes)}``, on the CPU, averaged over the
    test-time views of ``tta`` (``artclf.models.tta``).

    Where CUDA is, the network runs there in bf16 autocast with channels_last (as it trained;
    ``make bench``'s inference row measures the gain) and is put back where it was; on the CPU
    it runs in fp32, so ``evaluate`` reproduces the test figures of a CPU training exactly."""
    on_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if on_cuda else "cpu")
    layout = torch.channels_last if on_cuda else torch.contiguous_format
    home = next(module.parameters()).device
    module.to(device, memory_format=layout)
    out: dict[str, list[Tensor]] = {task: [] for task in module.tasks}
    try:
        for chunk in batches(images, batch_size):
            batch = to_model_input(chunk).to(device).contiguous(memory_format=layout)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=on_cuda):
                probs = averaged_probabilities(module, batch, tta)
            for task, values in probs.items():
                out[task].append(values.cpu())
    finally:
        module.to(home, memory_format=torch.contiguous_format)
    return {task: torch.cat(parts) for task, parts in out.items()}
