"""Decoding images to RGB uint8 arrays, finding undecodable files, and the prepared cache.

The prepared cache (``data.cache``, under ``data.cache_dir``) decodes and resizes every image
once into one ``.npy`` file that later runs memory-map: reading a row costs far less than
decoding the file (``make bench`` measures it), and batches are then augmented in one pass on
the training device (``artclf.data.augment``), not per sample in loader workers.

Images are made square by ``data.resize`` (``artclf.data.resize``; by default the shorter side
is resized to the input size and centre-cropped, keeping aspect ratio and so brushstroke
shape). The policy is part of the cache key. The cache holds exactly the input size: the
augmentation presets crop and rotate within it, and a margin would cost decode time and disk
for every run to serve the one preset (``aggressive``) that crops.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from filelock import FileLock, Timeout
from PIL import Image, ImageOps
from rich.progress import Progress

from artclf.data.resize import check_resize, fit

log = logging.getLogger(__name__)

#: Bumped when decoding or resizing changes, so old caches are not reused.
CACHE_VERSION = 4  # 2: channels-first rows; 3: a sidecar record; 4: EXIF orientation applied
#: Rows whose checksums the sidecar keeps: enough to catch an overwritten or shuffled file,
#: few enough that checking costs milliseconds however large the cache.
SAMPLE_ROWS = 16
#: Below this many files, work runs in-process: a pool costs more than it saves.
PARALLEL_MIN_FILES = 512
_CHUNK = 256
_MEMO_NAME = "image_checks.sqlite"
#: The most pixels (width × height) an image may decode to. A 688 KB PNG can claim 13,300²
#: pixels, and decoding it costs gigabytes and seconds of CPU; the header tells the size for
#: free, so the check runs before any decoding. (PIL's own refusal starts near 179 MP.)
MAX_PIXELS = 40_000_000


class ImageTooLarge(OSError):
    """An image over ``MAX_PIXELS``, refused from its header. An ``OSError``, as PIL's own
    decode failures are, so every reader skips or reports it as it does those."""

    def __init__(self, pixels: int) -> None:
        super().__init__(f"{pixels:,} pixels, over the {MAX_PIXELS:,}-pixel limit")
        self.pixels = pixels


#: Integer modes PIL's ``convert("RGB")`` would clip to 0..255 instead of scaling down.
_WIDE_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _wide_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit (or 32-bit integer) greyscale scaled to 8 bits: PNG stores 16-bit samples as
    0..65535, and clipping them to 255 turns every image white."""
    values = np.asarray(image, dtype=np.float64)
    top = (
        65535.0 if image.mode.startswith("I;16") or values.max(initial=0) <= 65535 else values.max()
    )
    scaled = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB version of any PIL image; transparency is composited on white (as a viewer shows it)."""
    if image.mode == "RGB":
        return image
    if image.mode in _WIDE_INT_MODES:
        image = _wide_to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _open_header(source: str | Path | BinaryIO) -> Image.Image:
    """``Image.open`` (the header only). PIL's own bomb refusal becomes ``ImageTooLarge`` and
    its warning is silenced: both start above ``MAX_PIXELS``, so ours is the one line shown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except Image.DecompressionBombError as error:
        claimed = re.search(r"\((\d+) pixels\)", str(error))
        raise ImageTooLarge(int(claimed[1]) if claimed else 2 * Image.MAX_IMAGE_PIXELS) from None


@contextmanager
def open_image(source: str | Path | BinaryIO, min_size: int | None = None) -> Iterator[Image.Image]:
    """``source`` opened but not decoded, refused (``ImageTooLarge``) when it would decode to
    more than ``MAX_PIXELS``: the one gate every reader of user images passes. With
    ``min_size``, a JPEG is set to decode at the smallest DCT scale whose sides are still
    ≥ ``min_size`` (fewer pixels to decode), and the limit applies to that scale."""
    with _open_header(source) as image:
        if min_size is not None:
            image.draft("RGB", (min_size, min_size))
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLarge(image.width * image.height)
        yield image


def open_rgb(source: str | Path | BinaryIO, min_size: int | None = None) -> Image.Image:
    """Decode ``source`` through ``open_image`` as upright RGB (first frame of an animation):
    turned as its EXIF orientation says, as a browser shows it (phones store portraits
    sideways and tag them), so the model sees what the user sees."""
    with open_image(source, min_size) as image:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # no tag: nothing changes, nothing copied
        return to_rgb(image)


def read_square_rgb(
    source: str | Path | BinaryIO, size: int, resize: str | None = None
) -> np.ndarray:
    """``size``×``size``×3 uint8 made square by the ``resize`` policy (None: the default)."""
    return fit(open_rgb(source, min_size=size), size, check_resize(resize))


#: File name endings of the formats PIL names, for image bytes stored as they came.
_SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif",
             "BMP": ".bmp", "TIFF": ".tif"}  # fmt: skip


def image_suffix(data: bytes) -> str:
    """The file name ending of image bytes by their format, read from the header (``.jpg``;
    ``.<format>`` for one no reader lists, ``.bin`` for bytes PIL does not know)."""
    try:
        with _open_header(io.BytesIO(data)) as image:
            found = str(image.format)
    except (OSError, ValueError, SyntaxError):
        return ".bin"
    return _SUFFIXES.get(found, f".{found.lower()}")


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ImageTooLarge):
        return "too_large"
    return "truncated" if "truncated" in str(error).lower() else "unreadable"


def _check(path: str) -> str:
    """'' when ``path`` decodes completely, else the skip reason. Decoding at the smallest DCT
    scale still reads every byte, so truncation is caught at a fraction of the cost."""
    try:
        open_rgb(path, min_size=1)
    except Exception as error:  # any decoder failure (OSError, SyntaxError, struct.error, ...)
        return _failure_reason(error)
    return ""


def _stat_key(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


class CheckMemo:
    """Decode results per file (path, byte size, mtime) in SQLite: safe with concurrent
    processes, and a second check of 100k unchanged files costs one query and the ``stat``
    calls. A result depends on the file alone (never on a run's image size), so the table is
    ``file_checks``: the older ``checks`` table, which a failed run could poison, is ignored.
    A memo that is not a database is replaced, with a warning naming it."""

    def __init__(self, cache_dir: str | Path | None):
        self.db = None if cache_dir is None else Path(cache_dir) / _MEMO_NAME

    def _connect(self) -> sqlite3.Connection:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            connection = sqlite3.connect(self.db, timeout=60)
            try:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS file_checks "
                    "(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, reason TEXT)"
                )
                return connection
            except sqlite3.DatabaseError as error:
                connection.close()
                if attempt or "locked" in str(error):
                    raise
                log.warning(
                    "image check memo %s is damaged (%s); starting it afresh", self.db, error
                )
                self.db.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def lookup(self, keys: dict[str, tuple[int, int]]) -> dict[str, str]:
        """Known reasons ('' = fine) of the paths whose size and mtime still match."""
        if self.db is None or not self.db.exists():
            return {}
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT path, size, mtime_ns, reason FROM file_checks")
            return {p: r for p, s, m, r in rows if keys.get(p) == (s, m)}

    def store(self, results: Iterable[tuple[str, int, int, str]]) -> None:
        if self.db is None:
            return
        with closing(self._connect()) as connection, connection:
            connection.executemany(
                "INSERT OR REPLACE INTO file_checks VALUES (?, ?, ?, ?)", results
            )


def worker_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _run_chunks(func: Callable, chunks: Sequence, description: str) -> list:
    """``func(*chunk)`` for each chunk (a list of paths first); in worker processes with a
    progress bar when there is enough work. Workers are forked: they need only PIL and numpy,
    and start in milliseconds."""
    total = sum(len(chunk[0]) for chunk in chunks)
    if total < PARALLEL_MIN_FILES or worker_count() == 1:
        return [func(*chunk) for chunk in chunks]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    results = []
    with (
        ProcessPoolExecutor(worker_count(), mp_context=context) as pool,
        Progress() as progress,
    ):
        task = progress.add_task(description, total=total)
        for chunk, result in zip(chunks, pool.map(func, *zip(*chunks, strict=True)), strict=True):
            results.append(result)
            progress.advance(task, len(chunk[0]))
    return results


def _check_chunk(paths: list[str]) -> list[str]:
    return [_check(p) for p in paths]


def find_unreadable(paths: list[str], cache_dir: str | Path | None = None) -> dict[str, str]:
    """Files that do not decode completely, mapped to ``"unreadable"`` or ``"truncated"``, or
    that would decode to more than ``MAX_PIXELS`` (``"too_large"``, refused undecoded).

    Every file is fully decoded once (in parallel for long lists); results are memoised per
    (path, size, mtime) under ``cache_dir``, so unchanged files are never decoded again.
    """
    keys = {p: _stat_key(p) for p in paths}
    memo = CheckMemo(cache_dir)
    known = memo.lookup(keys)
    todo = [p for p in paths if p not in known]
    chunks = [(todo[i : i + _CHUNK],) for i in range(0, len(todo), _CHUNK)]
    reasons = [r for chunk in _run_chunks(_check_chunk, chunks, "checking images") for r in chunk]
    memo.store((p, *keys[p], r) for p, r in zip(todo, reasons, strict=True))
    known.update(zip(todo, reasons, strict=True))
    return {p: known[p] for p in paths if known[p]}


def fingerprint(paths: Sequence[str], size: int) -> str:
    """What identifies the data of a run: a hash of the files (path, byte size, mtime) and the
    image size. Names the prepared cache, and is the digest of the dataset MLflow records,
    so a changed download (a file added, replaced or removed) shows as new data."""
    listing = json.dumps([CACHE_VERSION, size, [(p, *_stat_key(p)) for p in paths]])
    return hashlib.sha256(listing.encode()).hexdigest()[:20]


def cache_path(
    paths: Sequence[str], size: int, cache_dir: str | Path, resize: str | None = None
) -> Path:
    """Where the prepared array of these files (with their sizes and mtimes) at ``size``,
    made square by the ``resize`` policy, lives."""
    resize = check_resize(resize)
    return Path(cache_dir) / f"images-{fingerprint(paths, size)}-{size}px-{resize}.npy"


def _fill_chunk(paths: list[str], start: int, target: str, size: int, resize: str) -> list[tuple]:
    """Decode ``paths`` into rows ``start...`` of the array file ``target``; return memo rows."""
    array = np.load(target, mmap_mode="r+")
    results = []
    for row, path in enumerate(paths, start):
        try:
            array[row] = read_square_rgb(path, size, resize).transpose(2, 0, 1)
            reason = ""
        except Exception as error:  # a file that fails to decode gets a zero row, never used
            reason = _check(path)  # the file's own verdict, independent of ``size``
            if not reason:
                raise ValueError(
                    f"{path} decodes but cannot be prepared at {size}px ({error}); "
                    "check data.image_size"
                ) from None
        results.append((path, *_stat_key(path), reason))
    array.flush()
    return results


def build_cache(
    paths: Sequence[str], size: int, cache_dir: str | Path, resize: str | None = None
) -> Path:
    """The prepared ``(len(paths), 3, size, size)`` uint8 array file, built on first use.

    Row ``i`` holds ``paths[i]``, channels first as models take them (a batch is then one
    contiguous copy). Built in parallel into a temporary file that is renamed into
    place, under a file lock, so a second process waits instead of building it twice. Decode
    results go into the ``find_unreadable`` memo, so building the cache checks every file.
    """
    resize = check_resize(resize)
    final = cache_path(paths, size, cache_dir, resize)
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{final}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("another process is building %s, waiting", final.name)
        lock.acquire()
    try:
        if final.exists():
            problem = _mismatch(final, len(paths), size)
            if problem is None:
                return final
            log.warning("prepared cache %s %s; rebuilding it", final, problem)
        temp = final.with_name(f"{final.stem}.tmp-{os.getpid()}.npy")
        np.lib.format.open_memmap(
            temp, mode="w+", dtype=np.uint8, shape=(len(paths), 3, size, size)
        )
        chunks = [
            (list(paths[i : i + _CHUNK]), i, str(temp), size, resize)
            for i in range(0, len(paths), _CHUNK)
        ]
        results = _run_chunks(_fill_chunk, chunks, f"preparing images at {size}px")
        CheckMemo(cache_dir).store(row for chunk in results for row in chunk)
        _write_record(temp, _record_path(final))
        os.replace(temp, final)
        return final
    finally:
        lock.release()


def _record_path(array_file: Path) -> Path:
    return array_file.with_suffix(".json")


def _sample_rows(rows: int) -> list[int]:
    return sorted({int(i) for i in np.linspace(0, rows - 1, min(rows, SAMPLE_ROWS))})


def _describe(array_file: Path) -> dict:
    """What the sidecar records of an array file: its header, size and sampled rows' hashes."""
    array = np.load(array_file, mmap_mode="r")
    return {
        "version": CACHE_VERSION,
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "bytes": array_file.stat().st_size,
        "samples": {
            str(i): hashlib.blake2b(array[i].tobytes(), digest_size=16).hexdigest()
            for i in _sample_rows(len(array))
        },
    }


def _write_record(array_file: Path, record_file: Path) -> None:
    temp = record_file.with_name(f"{record_file.name}.tmp-{os.getpid()}")
    temp.write_text(json.dumps(_describe(array_file)))
    os.replace(temp, record_file)


def _mismatch(array_file: Path, rows: int, size: int) -> str | None:
    """Why the prepared array at ``array_file`` cannot be trusted, or None: checked against
    its sidecar (header, byte size, hashes of sampled rows) and the expected shape."""
    record_file = _record_path(array_file)
    try:
        record = json.loads(record_file.read_text())
        found = _describe(array_file)
    except FileNotFoundError:
        return f"has no record {record_file.name}"
    except (OSError, ValueError, EOFError) as error:  # a header numpy cannot read
        return f"cannot be read ({str(error).splitlines()[0][:100]})"
    if found["shape"] != [rows, 3, size, size] or found["dtype"] != "uint8":
        return f"holds {found['shape']} {found['dtype']}, not {[rows, 3, size, size]} uint8"
    for key in ("version", "bytes", "shape", "samples"):
        if record.get(key) != found[key]:
            return f"does not match its record ({key} differs)"
    return None
