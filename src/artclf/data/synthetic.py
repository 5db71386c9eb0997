"""The embedded default dataset: AI-ArtBench's exact layout, painted procedurally from a seed.

Ten "styles" differ in texture and composition (stroke orientation and frequency, palette,
bands vs blobs vs swirls vs hard shapes, symmetric vs off-centre). Every image draws its own
parameters, so no two are equal. AI images (LD and SD) carry a faint generator artefact on
top of the same painting process: LD a checkerboard, SD (written at twice the size, as the
real SD images are larger) a lattice of upsampling lines — both with a period of 1/8 of the
image side, so they survive resizing to 32 px. Origin is learnable, but only by a model that
looks closely.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from artclf.data.sources.ai_artbench import FOLDERS

VERSION = 2
MARKER = ".artclf-synthetic.json"
#: Artefact amplitude in [0, 1] intensity units (x255: grey levels), varied ±50 % per image.
ARTEFACT_AMPLITUDE = 0.04
_JPEG_QUALITY = 92

Painter = Callable[[np.random.Generator, np.ndarray, np.ndarray], np.ndarray]


def _palette(rng: np.random.Generator, colours: list[tuple[float, float, float]]) -> np.ndarray:
    base = np.asarray(colours, dtype=np.float32)
    return np.clip(base + rng.uniform(-0.08, 0.08, base.shape), 0, 1)


def _mix(palette: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Colour each pixel by interpolating along the palette with ``field`` in [0, 1]."""
    position = np.clip(field, 0, 1) * (len(palette) - 1)
    low = np.floor(position).astype(int).clip(0, len(palette) - 2)
    weight = (position - low)[..., None]
    return palette[low] * (1 - weight) + palette[low + 1] * weight


def _smooth_noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a ``cells``² random grid upsampled bicubically to ``n``²."""
    grid = rng.random((cells, cells)).astype(np.float32)
    image = Image.fromarray(grid, mode="F").resize((n, n), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image), 0, 1)


def _stripes(x, y, angle: float, frequency: float, phase: float) -> np.ndarray:
    along = x * np.cos(angle) + y * np.sin(angle)
    return 0.5 + 0.5 * np.sin(2 * np.pi * frequency * along + phase)


def _mirror(image: np.ndarray) -> np.ndarray:
    half = image.shape[1] // 2
    image[:, image.shape[1] - half :] = image[:, :half][:, ::-1]
    return image


def art_nouveau(rng, x, y):
    """Flowing wavy bands, mirrored left-right; olive, gold, cream."""
    wave = y + 0.12 * np.sin(2 * np.pi * rng.uniform(1.5, 3) * x + rng.uniform(0, 6.3))
    field = _stripes(0, wave, np.pi / 2, rng.uniform(3, 5), rng.uniform(0, 6.3))
    palette = _palette(rng, [(0.35, 0.4, 0.2), (0.8, 0.65, 0.3), (0.93, 0.88, 0.75)])
    return _mirror(_mix(palette, field))


def baroque(rng, x, y):
    """Dark ground with one warm off-centre light (chiaroscuro)."""
    cx = rng.choice([rng.uniform(0.2, 0.38), rng.uniform(0.62, 0.8)])
    cy = rng.uniform(0.3, 0.65)
    light = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * rng.uniform(0.08, 0.14) ** 2))
    field = 0.85 * light + 0.15 * _smooth_noise(rng, x.shape[0], 6)
    palette = _palette(rng, [(0.06, 0.04, 0.03), (0.35, 0.2, 0.1), (0.95, 0.8, 0.55)])
    return _mix(palette, field)


def expressionism(rng, x, y):
    """Hard-edged diagonal slashes in saturated primaries."""
    angle = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
    field = _stripes(x, y, angle, rng.uniform(4, 7), rng.uniform(0, 6.3))
    field = np.round(3 * (field + 0.25 * _smooth_noise(rng, x.shape[0], 5))) / 3.75
    palette = _palette(rng, [(0.8, 0.1, 0.1), (0.95, 0.8, 0.1), (0.1, 0.2, 0.7), (0.1, 0.5, 0.2)])
    return _mix(palette, field)


def impressionism(rng, x, y):
    """Small pastel dabs everywhere, no dominant direction."""
    n = x.shape[0]
    field = 0.7 * _smooth_noise(rng, n, rng.integers(12, 17)) + 0.3 * rng.random((n, n))
    palette = _palette(rng, [(0.6, 0.75, 0.9), (0.7, 0.85, 0.6), (0.95, 0.8, 0.85)])
    return _mix(palette, field)


def post_impressionism(rng, x, y):
    """Swirls around an off-centre eye; deep blue and yellow."""
    cx, cy = rng.uniform(0.25, 0.75, 2)
    radius = np.hypot(x - cx, y - cy)
    theta = np.arctan2(y - cy, x - cx)
    field = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(4, 7) * radius + rng.integers(2, 5) * theta)
    palette = _palette(rng, [(0.05, 0.1, 0.4), (0.2, 0.35, 0.7), (0.95, 0.85, 0.2)])
    return _mix(palette, field)


def realism(rng, x, y):
    """A low horizon, sky over earth, soft and low in contrast."""
    horizon = rng.uniform(0.4, 0.6) + 0.04 * (_smooth_noise(rng, x.shape[0], 3) - 0.5)
    ground = y > horizon
    field = np.where(ground, 0.1 + 0.3 * (y - horizon), 0.6 + 0.3 * (horizon - y))
    field = field + 0.1 * (_smooth_noise(rng, x.shape[0], 8) - 0.5)
    palette = _palette(
        rng, [(0.3, 0.25, 0.15), (0.45, 0.45, 0.3), (0.6, 0.65, 0.7), (0.8, 0.8, 0.8)]
    )
    return _mix(palette, field)


def renaissance(rng, x, y):
    """A central upright figure in a symmetric arch; red and blue on a pale ground."""
    width, height = rng.uniform(0.12, 0.2), rng.uniform(0.3, 0.4)
    figure = ((x - 0.5) / width) ** 2 + ((y - rng.uniform(0.5, 0.6)) / height) ** 2 < 1
    arch = np.hypot(x - 0.5, y - 0.35) < rng.uniform(0.35, 0.45)
    field = np.where(figure, 0.1 + 0.15 * (x > 0.5), np.where(arch, 0.75, 0.55))
    palette = _palette(rng, [(0.7, 0.1, 0.1), (0.15, 0.2, 0.6), (0.8, 0.75, 0.6), (0.9, 0.9, 0.85)])
    return _mirror(_mix(palette, field + 0.04 * _smooth_noise(rng, x.shape[0], 6)))


def romanticism(rng, x, y):
    """Dramatic, high-contrast cloudy sky over a dark band."""
    clouds = _smooth_noise(rng, x.shape[0], rng.integers(3, 6))
    field = np.where(y > rng.uniform(0.7, 0.85), 0.05, 0.25 + 0.75 * clouds**2)
    palette = _palette(
        rng, [(0.1, 0.1, 0.12), (0.45, 0.45, 0.5), (0.85, 0.55, 0.25), (1, 0.9, 0.7)]
    )
    return _mix(palette, field)


def surrealism(rng, x, y):
    """Hard geometric shapes on a flat gradient desert."""
    field = 0.45 + 0.3 * y
    for _ in range(rng.integers(2, 5)):
        cx, cy, r = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85), rng.uniform(0.06, 0.16)
        shape = (
            np.hypot(x - cx, y - cy) < r
            if rng.random() < 0.5
            else ((abs(x - cx) < r) & (abs(y - cy) < r))
        )
        field = np.where(shape, rng.choice([0.02, 0.98]), field)
    palette = _palette(
        rng, [(0.1, 0.1, 0.1), (0.5, 0.7, 0.9), (0.85, 0.75, 0.55), (0.95, 0.2, 0.1)]
    )
    return _mix(palette, field)


def ukiyo_e(rng, x, y):
    """Flat indigo waves with dark outlines under a beige sky."""
    wave = _stripes(x, y + 0.05 * np.sin(2 * np.pi * 3 * x), np.pi / 2, rng.uniform(6, 9), 0)
    sea = y > rng.uniform(0.3, 0.5)
    field = np.where(sea, np.round(2 * wave) / 4, 0.85)
    outline = sea & (np.abs(wave - 0.5) < 0.08)
    palette = _palette(rng, [(0.05, 0.1, 0.3), (0.2, 0.35, 0.6), (0.9, 0.85, 0.7)])
    return np.where(outline[..., None], 0.08, _mix(palette, field))


PAINTERS: dict[str, Painter] = {
    painter.__name__: painter
    for painter in (
        art_nouveau,
        baroque,
        expressionism,
        impressionism,
        post_impressionism,
        realism,
        renaissance,
        romanticism,
        surrealism,
        ukiyo_e,
    )
}


def _artefact(rng: np.random.Generator, generator: str, n: int) -> np.ndarray:
    """The generator's faint periodic trace (period n/8, random phase and strength)."""
    period = n / 8
    ys, xs = np.mgrid[0:n, 0:n] + rng.uniform(0, period, 2)[:, None, None]
    if generator == "LD":
        pattern = np.sign(np.sin(np.pi * xs / period * 2) * np.sin(np.pi * ys / period * 2))
    else:
        pattern = 2 * ((xs % period < 1.5) | (ys % period < 1.5)) - 1.0
    return ARTEFACT_AMPLITUDE * rng.uniform(0.5, 1.5) * pattern[..., None]


def paint(seed: int, split: str, folder: str, index: int, size: int) -> np.ndarray:
    """One image as HxWx3 uint8, a pure function of its coordinates in the dataset."""
    generator, style = FOLDERS[folder]
    rng = np.random.default_rng(
        [seed, ("train", "test").index(split), sorted(FOLDERS).index(folder), index]
    )
    n = 2 * size if generator == "SD" else size
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n
    image = PAINTERS[style](rng, x, y) + rng.normal(0, 0.02, (n, n, 3))
    if generator != "human":
        image = image + _artefact(rng, generator, n)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def _read_marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return None


def generate(
    root: str | Path, *, seed: int, train_per_class: int, test_per_class: int, size: int
) -> Path:
    """Write the dataset under ``root`` (as ``train/`` and ``test/``) unless it is already there
    with these parameters; return ``root``.

    Written into a temporary sibling folder and renamed into place, so a reader never sees half
    a dataset and two processes starting at once both end with the same complete copy.
    """
    root = Path(root)
    params = {
        "version": VERSION,
        "seed": seed,
        "train_per_class": train_per_class,
        "test_per_class": test_per_class,
        "size": size,
    }
    if _read_marker(root) == params:
        return root
    if root.exists() and _read_marker(root) is None and any(root.iterdir()):
        raise ValueError(
            f"data.root {str(root)!r} holds files that are not a generated dataset: the embedded "
            "dataset is only written into a new or empty folder, or over one it wrote; pass "
            "another data.root (or data=<preset> for a download)"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    temp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for folder in sorted(FOLDERS):
            (temp / split / folder).mkdir(parents=True)
            for i in range(count):
                image = Image.fromarray(paint(seed, split, folder, i, size))
                image.save(temp / split / folder / f"{i:05d}.jpg", quality=_JPEG_QUALITY)
    (temp / MARKER).write_text(json.dumps(params))
    if root.exists() and _read_marker(root) != params:
        stale = root.parent / f".{root.name}.stale-{uuid.uuid4().hex[:8]}"
        os.rename(root, stale)
        shutil.rmtree(stale)
    try:
        os.rename(temp, root)
    except OSError:  # another process put its identical copy in place first
        shutil.rmtree(temp)
        if _read_marker(root) != params:
            raise
    return root
