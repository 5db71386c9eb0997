"""Decoding to RGB, the undecodable-file memo, and the prepared cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artclf.data import images
from artclf.data.images import build_cache, find_unreadable, open_rgb, read_square_rgb
from fixtures import image_bytes, write_image


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    return [str(write_image(tmp_path / "img" / f"{i}.jpg", i)) for i in range(6)]


def test_transparency_is_composited_on_white_and_animations_give_their_first_frame(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgba.save(tmp_path / "a.png")
    decoded = np.asarray(open_rgb(tmp_path / "a.png"))
    assert decoded[1, 1].tolist() == [255, 255, 255] and decoded[0, 0].tolist() == [0, 0, 255]
    palette = Image.new("P", (4, 4), 3)
    palette.putpalette([0, 0, 0] * 3 + [10, 200, 30] + [0, 0, 0] * 252)
    frames = [palette, Image.new("P", (4, 4), 0)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert np.asarray(open_rgb(tmp_path / "anim.gif"))[2, 2].tolist() == [10, 200, 30]


def test_load_image_keeps_aspect_by_centre_cropping(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, 10:30] = 255  # the centre square is white, the sides black
    Image.fromarray(wide).save(tmp_path / "wide.png")
    image = read_square_rgb(tmp_path / "wide.png", 10)
    assert image.shape == (10, 10, 3)
    assert image.min() > 200  # squashing would bring the black sides in


def test_find_unreadable_names_the_reason_and_memoises(tmp_path, files, monkeypatch):
    whole = image_bytes(1, size=64)
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg at all")
    paths = [*files, str(tmp_path / "cut.jpg"), str(tmp_path / "junk.jpg")]
    expected = {paths[-2]: "truncated", paths[-1]: "unreadable"}
    assert find_unreadable(paths, cache_dir=tmp_path / "memo") == expected

    def no_decoding(path):
        raise AssertionError(f"{path} decoded again")

    monkeypatch.setattr(images, "_check", no_decoding)
    assert find_unreadable(paths, cache_dir=tmp_path / "memo") == expected
    (tmp_path / "cut.jpg").write_bytes(whole)  # repaired: size and mtime change
    monkeypatch.undo()
    assert find_unreadable(paths, cache_dir=tmp_path / "memo") == {paths[-1]: "unreadable"}


def test_cache_holds_the_direct_decode_and_is_reused(tmp_path, files):
    path = build_cache(files, 16, tmp_path / "cache")
    array = np.load(path)
    assert array.shape == (6, 3, 16, 16) and array.dtype == np.uint8
    for row, file in enumerate(files):
        assert np.array_equal(array[row], read_square_rgb(file, 16).transpose(2, 0, 1))
    inode = path.stat().st_ino
    assert build_cache(files, 16, tmp_path / "cache") == path
    assert path.stat().st_ino == inode
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        "image_checks.sqlite",
        path.with_suffix(".json").name,  # the record it is validated by
        path.name,
    ]


def test_cache_is_rebuilt_when_a_file_or_the_size_changes(tmp_path, files):
    first = build_cache(files, 16, tmp_path)
    assert build_cache(files, 12, tmp_path) != first
    write_image(Path(files[2]), 99)
    os.utime(files[2], ns=(1, 1))  # a different mtime even on a coarse clock
    second = build_cache(files, 16, tmp_path)
    assert second != first
    assert np.array_equal(np.load(second)[2], read_square_rgb(files[2], 16).transpose(2, 0, 1))


def test_building_the_cache_fills_the_memo(tmp_path, files, monkeypatch):
    (tmp_path / "junk.jpg").write_bytes(b"junk")
    paths = [*files, str(tmp_path / "junk.jpg")]
    build_cache(paths, 8, tmp_path / "cache")
    monkeypatch.setattr(images, "_check", lambda path: pytest.fail(f"{path} decoded twice"))
    assert find_unreadable(paths, cache_dir=tmp_path / "cache") == {paths[-1]: "unreadable"}


def test_concurrent_builders_share_one_complete_cache(tmp_path, files):
    with ThreadPoolExecutor(3) as pool:
        built = list(pool.map(lambda _: build_cache(files, 16, tmp_path), range(3)))
    assert len(set(built)) == 1
    assert not list(tmp_path.glob("*.tmp-*"))
    assert np.array_equal(np.load(built[0])[5], read_square_rgb(files[5], 16).transpose(2, 0, 1))


def test_worker_processes_give_the_same_cache(tmp_path, files, monkeypatch):
    monkeypatch.setattr(images, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(images, "_CHUNK", 2)
    parallel = np.load(build_cache(files, 16, tmp_path / "parallel"))
    assert np.array_equal(
        parallel, np.stack([read_square_rgb(f, 16).transpose(2, 0, 1) for f in files])
    )
