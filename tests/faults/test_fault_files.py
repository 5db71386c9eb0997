"""Items 8, 9 and 14: odd files are skipped for their own reason, and 16-bit images keep
their brightness."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from artclf.data.images import open_rgb
from artclf.describe import run
from fixtures import image_bytes, make_ai_artbench


def test_bad_names_and_broken_links_are_skipped_and_counted(make_cfg, tmp_path: Path) -> None:
    made = make_ai_artbench(tmp_path / "dl", train_per_folder=2, test_per_folder=1)
    folder = made["dataset"] / "train" / "AI_LD_baroque"
    with open(os.fsencode(folder) + b"/caf\xe9-latin1.jpg", "wb") as handle:
        handle.write(image_bytes(5))  # a latin-1 name: not UTF-8
    (folder / "gone.jpg").symlink_to(folder / "nowhere.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    cfg = make_cfg(
        "data=ai_artbench", f"data.root={tmp_path / 'dl'}", "output=json", config_name="describe"
    )
    report = run(cfg)
    assert report["skipped"]["bad_name"] == 1
    assert report["skipped"]["broken_link"] == 2
    assert report["skipped"]["missing"] == 0


def test_16_bit_png_keeps_its_grey_level(tmp_path: Path) -> None:
    grey = np.full((6, 6), 32768, np.uint16)  # mid-grey in 16 bits
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    pixel = np.asarray(open_rgb(tmp_path / "grey16.png"))[0, 0]
    assert pixel.tolist() == [128, 128, 128]
