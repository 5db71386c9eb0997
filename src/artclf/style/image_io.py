"""Reading, fitting and saving the images of a style-transfer run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torchvision.transforms.v2 import functional as tvf
from torchvision.utils import make_grid, save_image

from artclf.data.images import ImageTooLarge, open_rgb
from artclf.data.sources.files import IMAGE_EXTENSIONS
from artclf.style.errors import StyleTransferError

#: ``skimage:astronaut`` names a sample photo shipped with scikit-image (a dev dependency).
SKIMAGE_PREFIX = "skimage:"
#: The shortest side an image may have as the networks take it: VGG's four poolings need 16
#: pixels, and a thinner style image would be stretched to cover the content (a 30000×1 one
#: to gigabytes).
MIN_SIDE = 16


def _read_skimage(name: str) -> Image.Image:
    try:
        from skimage import data
    except ImportError as err:
        raise StyleTransferError(
            f"{SKIMAGE_PREFIX}{name} needs scikit-image: `pip install scikit-image`"
        ) from err
    loader = getattr(data, name, None)
    if loader is None:
        raise StyleTransferError(f"scikit-image has no sample image {name!r}; try astronaut")
    return Image.fromarray(np.asarray(loader())).convert("RGB")


def expand_sources(source: str | list[str], role: str) -> list[str]:
    """One image, a folder of images, or a list of either, as a sorted list of sources."""
    items = [source] if isinstance(source, str) else list(source)
    out: list[str] = []
    for item in map(str, items):
        path = Path(item).expanduser()
        if item.startswith(SKIMAGE_PREFIX) or path.is_file():
            out.append(item)
        elif path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise StyleTransferError(f"{role} folder {item!r} holds no images")
            out.extend(found)
        else:
            raise StyleTransferError(
                f"{role} image {item!r} does not exist; pass {role}=PATH (an image file or "
                f"folder) or {role}={SKIMAGE_PREFIX}astronaut"
            )
    if not out:
        raise StyleTransferError(f"no {role} image given; pass {role}=PATH")
    return out


def source_name(source: str) -> str:
    """A short file-name-safe name for an image source."""
    if source.startswith(SKIMAGE_PREFIX):
        return source[len(SKIMAGE_PREFIX) :]
    return Path(source).stem


def read_image_tensor(source: str, size: int | None = None) -> Tensor:
    """``(1, 3, H, W)`` float RGB in [0, 1]; with ``size`` the longer side becomes ``size``.
    Files decode as the classifier's do (``open_rgb``: pixel limit, EXIF orientation, 16-bit);
    an image thinner than ``MIN_SIDE`` at that size is refused in one line."""
    if source.startswith(SKIMAGE_PREFIX):
        image = _read_skimage(source[len(SKIMAGE_PREFIX) :])
    else:
        try:
            image = open_rgb(source)
        except ImageTooLarge as err:
            raise StyleTransferError(f"image {source!r} has {err}; pass a smaller one") from None
        except (FileNotFoundError, UnidentifiedImageError, OSError) as err:
            raise StyleTransferError(
                f"cannot read image {source!r} ({type(err).__name__}); pass a JPEG/PNG file"
            ) from err
    tensor = from_pil(image, size)
    if min(tensor.shape[-2:]) < MIN_SIDE:  # one line, not a pooling error deep in a network
        raise StyleTransferError(
            f"image {source!r} is {image.width}×{image.height}, {min(tensor.shape[-2:])} px "
            f"on its shorter side{f' at size={size}' if size else ''}; style transfer needs "
            f"at least {MIN_SIDE}"
        )
    return tensor


def from_pil(image: Image.Image, size: int | None = None) -> Tensor:
    """An RGB PIL image as ``(1, 3, H, W)`` float in [0, 1]; with ``size`` the longer side
    becomes ``size``."""
    tensor = tvf.pil_to_tensor(image).float().div(255).unsqueeze(0).contiguous()
    if size is not None:
        h, w = tensor.shape[-2:]
        scale = size / max(h, w)
        new_hw = [max(1, round(h * scale)), max(1, round(w * scale))]
        tensor = tvf.resize(tensor, new_hw, antialias=True).clamp(0, 1)
    return tensor


def fit_to(image: Tensor, height: int, width: int) -> Tensor:
    """Resize the shorter side to cover ``height × width`` and centre-crop (no distortion)."""
    h, w = image.shape[-2:]
    scale = max(height / h, width / w)
    resized = tvf.resize(image, [max(height, round(h * scale)), max(width, round(w * scale))])
    return tvf.center_crop(resized, [height, width]).clamp(0, 1)


def grid(images: list[Tensor]) -> Tensor:
    """Side-by-side ``(3, H, W·n)`` grid of same-sized ``(1, 3, H, W)`` images."""
    return make_grid(torch.cat(images), nrow=len(images), padding=4, pad_value=1.0)


def save(image: Tensor, path: Path) -> Path:
    """Write a ``(1|, 3, H, W)`` tensor in [0, 1] as PNG/JPEG, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(image, path)
    return path


def to_pil(image: Tensor) -> Image.Image:
    """A ``(1|, 3, H, W)`` tensor in [0, 1] as a PIL image (what ``mlflow.log_image`` takes)."""
    array = image.squeeze(0).clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array)
