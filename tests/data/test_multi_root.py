"""``data.root=[A,B]``: several downloads read as one dataset. Classes are matched by name,
validation and test come from the first folder only (so a model trained on more data is
scored on the same images), the other folders' images are training images, and a copy of a
held-out artwork in another folder is dropped, with or without cross-validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from artclf.data.spec import DataSpec
from fixtures import write_image

TITLES = "abcdefghij"  # one artwork each (a trailing number would mark a variant)
SAMPLE = {  # style -> artist_title files of the first folder
    "Baroque": [f"rembrandt_work-{t}.jpg" for t in TITLES],
    "Rococo": [f"boucher_work-{t}.jpg" for t in TITLES],
}
MORE = {
    "Baroque": [f"rubens_piece-{t}.jpg" for t in TITLES[:6]],
    "Rococo": [f"fragonard_piece-{t}.jpg" for t in TITLES[:6]],
    "Ukiyo_e": [f"hokusai_print-{t}.jpg" for t in TITLES[:4]],  # a class only here
}


def write_folder(root: Path, files: dict[str, list[str]], seed: int) -> Path:
    for style, names in files.items():
        for name in names:
            seed += 1
            write_image(root / style / name, seed)
    return root


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    return write_folder(tmp_path / "sample", SAMPLE, 0), write_folder(tmp_path / "more", MORE, 100)


def spec(roots, **options) -> DataSpec:
    data = {"source": "wikiart", "root": [str(r) for r in roots], "labels": "style"}
    return DataSpec.from_config({**data, "val_fraction": 0.2, "test_fraction": 0.2, **options})


def test_other_folders_only_add_training_images(roots, tmp_path: Path) -> None:
    alone = DataSpec.from_config(
        {"source": "wikiart", "root": str(roots[0]), "labels": "style", "val_fraction": 0.2,
         "test_fraction": 0.2}
    )  # fmt: skip
    both = spec(roots)
    assert both.roots == [str(r) for r in roots]
    single, merged = alone.records().records, both.records().records
    assert both.records().classes == ["Baroque", "Rococo", "Ukiyo_e"]  # matched by name
    for split in ("val", "test"):  # the same evaluation images as the first folder alone
        assert sorted(merged[merged.split == split].path) == sorted(
            single[single.split == split].path
        )
    more = merged[merged.path.str.startswith(str(roots[1]))]
    assert len(more) == 16 and set(more.split) == {"train"}


def test_a_copy_of_a_held_out_artwork_in_another_folder_is_dropped(roots) -> None:
    records = spec(roots).records()
    held = records.records[records.records.split.isin(["val", "test"])].path.iloc[0]
    style, name = Path(held).parent.name, Path(held).name
    write_image(roots[1] / style / name.replace(".jpg", "-1.jpg"), 999)  # the same work again
    again = spec(roots).records()
    assert again.skipped["held_out_artwork"] == 1
    assert len(again.records) == len(records.records)


def test_cross_validation_never_holds_out_another_folders_images(roots) -> None:
    for fold in range(3):
        records = spec(roots, cv={"folds": 3, "fold": fold}).records().records
        val = records[records.split == "val"]
        assert len(val) and not val.path.str.startswith(str(roots[1])).any()
