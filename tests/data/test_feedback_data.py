"""Feedback folders (``python -m artclf.feedback export``) as training data: ``data=feedback``
(or ``data.feedback=[DIR]``, or a root holding the manifest) adds their images to the training
split only; validation and test are exactly those without them; a byte copy of a held-out
image never trains; a class the data lacks is one error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from artclf.data.sources.feedback import MANIFEST, MANIFEST_COLUMNS, is_feedback_folder
from artclf.data.spec import DataSpec
from conftest import TINY_SYNTHETIC, compose_cfg
from fixtures import image_bytes

TASK = "origin_style"


def write_feedback(folder: Path, labelled: list[tuple[str, bytes]], task: str = TASK) -> Path:
    """``folder/<task>/<label>/<sha256>.jpg`` for each (label, bytes), and the manifest."""
    rows = []
    for label, data in labelled:
        sha256 = hashlib.sha256(data).hexdigest()
        file = Path(task, label, f"{sha256}.jpg")
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(data)
        rows.append({"sha256": sha256, "task": task, "label": label, "file": file.as_posix()})
    pd.DataFrame(rows, columns=MANIFEST_COLUMNS).to_csv(folder / MANIFEST, index=False)
    return folder


def spec(home: Path, cache: Path, *overrides: str) -> DataSpec:
    cfg = compose_cfg("train", home, *TINY_SYNTHETIC, f"paths.cache_dir={cache}", *overrides)
    return DataSpec.from_config(cfg.data)


@pytest.fixture
def labelled() -> list[tuple[str, bytes]]:
    """Five new images of two of the embedded dataset's classes."""
    return [("AI_baroque", image_bytes(i, size=32)) for i in range(3)] + [
        ("human_ukiyo_e", image_bytes(10 + i, size=32)) for i in range(2)
    ]


def test_feedback_only_adds_training_images(tmp_path: Path, shared_cache: Path, labelled) -> None:
    plain = spec(tmp_path, shared_cache).records()
    folder = write_feedback(tmp_path / "data" / "feedback", labelled)  # data=feedback's default
    preset = spec(tmp_path, shared_cache, "data=feedback")
    assert preset.feedback == (str(folder),) and preset.roots[-1] == str(folder)
    added = preset.records()
    for split in ("val", "test"):
        assert sorted(added.split(split)["path"]) == sorted(plain.split(split)["path"])
    assert added.classes == plain.classes
    new = added.records[added.records["path"].str.startswith(str(folder))]
    assert len(new) == len(labelled) and set(new["split"]) == {"train"}
    assert sorted(new["label"]) == sorted(label for label, _ in labelled)
    assert len(added.split("train")) == len(plain.split("train")) + len(labelled)

    # the folder given as a root after the data's own is the same: its manifest marks it
    root = spec(tmp_path, shared_cache).root
    as_root = spec(tmp_path, shared_cache, f"data.root=[{root},{folder}]").records()
    assert as_root.records["path"].tolist() == added.records["path"].tolist()


def test_a_byte_copy_of_a_held_out_image_never_trains(
    tmp_path: Path, shared_cache: Path, labelled
) -> None:
    plain = spec(tmp_path, shared_cache).records()
    held = plain.split("test").iloc[0]
    copy = [(held["label"], Path(held["path"]).read_bytes())]
    write_feedback(tmp_path / "data" / "feedback", labelled + copy)
    added = spec(tmp_path, shared_cache, "data=feedback").records()
    assert added.skipped["held_out_artwork"] == plain.skipped["held_out_artwork"] + 1
    assert len(added.split("train")) == len(plain.split("train")) + len(labelled)


def test_a_class_or_head_the_data_lacks_is_one_error(
    tmp_path: Path, shared_cache: Path, labelled
) -> None:
    folder = tmp_path / "data" / "feedback"
    write_feedback(folder, [*labelled, ("Cubism", image_bytes(99, size=32))])
    with pytest.raises(ValueError, match=r"class 'Cubism' \(origin_style\), which the data") as e:
        spec(tmp_path, shared_cache, "data=feedback").records()
    assert "\n" not in str(e.value) and str(folder / TASK / "Cubism") in str(e.value)

    other = write_feedback(tmp_path / "style_feedback", labelled, task="style")
    with pytest.raises(
        ValueError, match=r"labels style, this run trains data\.labels=origin_style"
    ):
        spec(tmp_path, shared_cache, f"data.feedback=[{other}]").records()


def test_a_download_with_its_own_manifest_is_not_a_feedback_folder(tmp_path: Path) -> None:
    """The WikiArt sample ships a ``manifest.csv``: it is read by its own reader."""
    (tmp_path / "wikiart" / "Baroque").mkdir(parents=True)
    (tmp_path / "manifest.csv").write_text("style,file\n")
    assert not is_feedback_folder(tmp_path)
