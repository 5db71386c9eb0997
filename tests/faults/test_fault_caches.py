"""Items 3 and 4: the image-check memo depends on the file alone, and a damaged prepared
cache is noticed on open and rebuilt with one warning naming it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from artclf.data import images
from artclf.data.images import build_cache, find_unreadable, read_square_rgb
from artclf.data.resample import Geometry, gather_scaled
from fixtures import write_image


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    return [str(write_image(tmp_path / "img" / f"{i}.jpg", i)) for i in range(20)]


def direct(files: list[str], size: int) -> np.ndarray:
    return np.stack([read_square_rgb(f, size).transpose(2, 0, 1) for f in files])


def test_a_failed_build_does_not_mark_good_files_unreadable(tmp_path, files, monkeypatch) -> None:
    def fails_at_this_size(path, size):
        raise RuntimeError(f"cannot resize to {size}")

    monkeypatch.setattr(images, "read_square_rgb", fails_at_this_size)
    with pytest.raises(ValueError, match="cannot be prepared at 7px"):
        build_cache(files, 7, tmp_path / "cache")
    monkeypatch.undo()
    assert find_unreadable(files, cache_dir=tmp_path / "cache") == {}


def test_garbage_check_memo_is_replaced_with_a_warning(tmp_path, files, caplog) -> None:
    memo = tmp_path / "cache" / "image_checks.sqlite"
    memo.parent.mkdir()
    memo.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING):
        assert find_unreadable(files, cache_dir=memo.parent) == {}
    assert str(memo) in caplog.text


def noise(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[128:] = np.random.default_rng(0).integers(0, 256, len(data) - 128, np.uint8).tobytes()
    path.write_bytes(bytes(data))


def shorten(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def overwrite_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:64] = b"\x00" * 64
    path.write_bytes(bytes(data))


def swap_rows(path: Path) -> None:  # same size, valid header: only the checksums tell
    array = np.load(path, mmap_mode="r+")
    array[[0, 19]] = array[[19, 0]]
    array.flush()


@pytest.mark.parametrize("damage", [noise, shorten, overwrite_header, swap_rows])
def test_damaged_prepared_cache_is_rebuilt_with_one_warning(tmp_path, files, caplog, damage):
    path = build_cache(files, 16, tmp_path / "cache")
    damage(path)
    with caplog.at_level(logging.WARNING):
        assert build_cache(files, 16, tmp_path / "cache") == path
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
    assert np.array_equal(np.load(path), direct(files, 16))


def test_the_gather_kernel_refuses_rows_past_the_array() -> None:
    pytest.importorskip("numba")
    source = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    geometry = Geometry.identity(2, 8, torch.device("cpu"))
    scale, shift = torch.ones(3), torch.zeros(3)
    with pytest.raises(IndexError, match="outside the 4 images"):
        gather_scaled(source, geometry, scale, shift, rows=torch.tensor([1, 4]))
