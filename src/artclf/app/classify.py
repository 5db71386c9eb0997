"""Classify one image the way ``artclf.predict`` does, explain it with Grad-CAM, and find the
example images and accept the uploads the page offers."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from artclf.app.display import display_name, head_name, percent
from artclf.data.images import ImageTooLarge, open_image, read_square_rgb
from artclf.data.resize import checkpoint_resize
from artclf.data.synthetic import generate
from artclf.evaluation.explanations import attribution_maps
from artclf.inference.classifier import read_square_batch, top_labels
from artclf.models.module import ClassificationModule
from artclf.monitoring.embedding import scored

UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp")
UPLOAD_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}  # MPO: JPEGs from phone cameras
MAX_UPLOAD_MB = 20
EXAMPLES_PER_CLASS = 2
MAX_EXAMPLES = 40
OVERLAY_SIZE = 320
#: Sessions are threads sharing one cached module: scoring hooks its neck (``scored``) and may
#: move it between devices, Grad-CAM copies it (hooks included); one at a time, so no session
#: records another's features or copies a module half moved.
MODULE_LOCK = threading.Lock()


class UploadError(ValueError):
    """An upload the app cannot classify; the message says why and what to do."""


def check_upload(name: str, data: bytes) -> None:
    """Raise ``UploadError`` unless ``data`` is a complete JPG/PNG/WebP within the size limits:
    its bytes, and its pixels (checked from the header before decoding, by ``open_image``: a
    small PNG may claim gigabytes of pixels)."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise UploadError(
            f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_MB} MB, "
            "upload a smaller image"
        )
    if not data:
        raise UploadError(f"{name} is empty (0 bytes); upload a JPG, PNG or WebP image")
    try:
        with open_image(io.BytesIO(data)) as image:
            kind = image.format
            image.load()  # decodes every byte: truncated files fail here, not later
    except ImageTooLarge as error:
        raise UploadError(f"{name} has {error}; upload a smaller image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        reason = "truncated" if "truncated" in str(error).lower() else "not a readable image"
        raise UploadError(f"{name} is {reason}; upload a complete JPG, PNG or WebP file") from None
    if kind not in UPLOAD_FORMATS:
        raise UploadError(f"{name} is a {kind} image; upload a JPG, PNG or WebP file")


def store_upload(name: str, data: bytes, folder: Path) -> Path:
    """Check the upload and write it where ``predict`` can read it (same decoder, same path)."""
    check_upload(name, data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (Path(name).name or "upload")
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class Classified:
    """One image at the model's input size, its top-k per task, and the full ranking of the
    first task (what the Grad-CAM class picker offers); the probabilities and pooled features
    the service records, and how long it took."""

    image: np.ndarray
    top: dict[str, list[dict]]
    classes: list[str]
    probs: dict[str, Tensor]
    features: Tensor
    latency_ms: float


def classify(module: ClassificationModule, path: Path, top_k: int = 5) -> Classified:
    """The image decoded by ``read_square_batch`` and scored as the service scores it
    (``scored``: ``predict_probabilities``, exactly what ``artclf.predict`` does, and the
    features on the way); one forward pass ranks every class, the top ``top_k`` of each task
    are its head."""
    started = time.perf_counter()
    resize = checkpoint_resize(module.hparams.get("data"))  # as training read its images
    _, images = read_square_batch([path], int(module.hparams.model["image_size"]), resize)
    with MODULE_LOCK:
        probs, features = scored(module, images)
    ranked = top_labels(module.tasks, probs, max(len(c) for c in module.tasks.values()))[0]
    top = {task: items[:top_k] for task, items in ranked.items()}
    classes = [item["label"] for item in next(iter(ranked.values()))]
    latency_ms = (time.perf_counter() - started) * 1000
    return Classified(images[0], top, classes, probs, features, latency_ms)


def gradcam_overlay(
    module: ClassificationModule,
    result: Classified,
    path: Path,
    label: str,
    task: str | None = None,
    size: int = OVERLAY_SIZE,
) -> np.ndarray:
    """Grad-CAM of class ``label`` (of ``task``) laid over the image in the colours training's
    prediction grid uses. The map comes from the model's input; it is drawn over the same
    centre crop decoded at ``size`` so a small model's map is not shown on a blurred image."""
    task = task or next(iter(module.tasks))
    target = np.array([module.tasks[task].index(label)])
    with MODULE_LOCK:
        heat = attribution_maps(module, result.image[None], target, task=task)[0]
    heat = np.asarray(Image.fromarray(heat.astype(np.float32)).resize((size, size)))
    backdrop = read_square_rgb(path, size) / 255
    colours = matplotlib.colormaps["jet"](heat.clip(0, 1))[..., :3]
    return (0.55 * backdrop + 0.45 * colours).clip(0, 1)


def example_images(module: ClassificationModule, cache_dir: Path) -> list[tuple[str, Path]]:
    """``(caption, path)`` pairs: test images of the model's own data when its root is on disk
    (a few per class of the first task), else the embedded synthetic set's test images."""
    data = dict(module.hparams.get("data") or {})
    if data.get("root") and Path(data["root"]).is_dir():
        from artclf.data.spec import DataSpec
        from artclf.evaluation.selection import split_records

        table = split_records(DataSpec.from_config(data), "test", module.tasks)
        task = next(iter(module.tasks))
        picked = table.groupby(task, sort=True).head(EXAMPLES_PER_CLASS).head(MAX_EXAMPLES)
        classes = module.tasks[task]
        return [
            (f"{display_name(classes[row[task]])} · {Path(row['path']).name}", Path(row["path"]))
            for row in picked.to_dict("records")
        ]
    root = generate(
        cache_dir / "app-examples", seed=0, train_per_class=0, test_per_class=1, size=128
    )
    files = sorted((root / "test").glob("*/*.*"))[:MAX_EXAMPLES]
    return [(f"{display_name(p.parent.name)} · {p.name}", p) for p in files]


def top_k_html(task: str, ranked: list[dict], image: str) -> str:
    """A bar chart of the top-k as a plain HTML table (readable in the DOM, no chart library):
    one row per class with its bar and its percentage, named for people (``display_name``);
    the raw label and probability stay in the row's data attributes."""
    rows = "".join(
        f'<tr data-label="{escape(item["label"])}" data-probability="{item["probability"]}">'
        f'<td class="artclf-label">{escape(display_name(item["label"]))}</td>'
        '<td style="width:55%"><div style="background:#ff4b4b;height:0.9em;border-radius:2px;'
        f'width:{100 * item["probability"]:.1f}%"></div></td>'
        f'<td style="text-align:right">{percent(item["probability"])}</td></tr>'
        for item in ranked
    )
    caption = f"{head_name(task)}: top {len(ranked)} for {image}"
    return (
        f'<table class="artclf-top" data-task="{escape(task)}" data-image="{escape(image)}" '
        f'style="width:100%"><caption>{escape(caption)}</caption>{rows}</table>'
    )
