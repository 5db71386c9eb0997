"""The AI-ArtBench reader on a tiny copy of the real layout, through the shared pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artclf.data.images import open_rgb, read_square_rgb
from artclf.data.pipeline import label_records
from artclf.data.sources import DatasetLayoutError
from artclf.data.sources.ai_artbench import scan
from fixtures import AI_ARTBENCH_STYLES, make_ai_artbench, write_image


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("ai") / "real-ai-art"
    return {"root": root, **make_ai_artbench(root)}


@pytest.fixture(scope="module")
def memo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("memo")


def prepare(bench: dict, memo: Path, **options):
    return label_records("ai_artbench", bench["root"], cache_dir=memo, **options)


def test_both_root_spellings_give_the_same_records(bench):
    outer, inner = scan(bench["root"]), scan(bench["dataset"])
    assert outer.records.equals(inner.records)
    assert outer.records["split"].value_counts().to_dict() == {
        "train": bench["train"] + 1,  # + the truncated JPEG, found only by decoding
        "test": bench["test"],
    }
    assert dict(outer.skipped) == {"empty": 1, "not_image": 3}


def test_ukiyo_e_spellings_are_one_style(bench):
    records = scan(bench["root"]).records
    assert sorted(records["style"].unique()) == sorted(AI_ARTBENCH_STYLES)
    ukiyo = records[records["style"] == "ukiyo_e"]
    assert set(ukiyo["generator"]) == {"human", "LD", "SD"}
    assert set(ukiyo["generator_style"]) == {"human_ukiyo_e", "AI_LD_ukiyo_e", "AI_SD_ukiyo_e"}


@pytest.mark.parametrize(
    ("labels", "n_classes"),
    [("origin_style", 20), ("generator_style", 30), ("generator", 3), ("origin", 2), ("style", 10)],
)
def test_label_schemes_have_sorted_stable_classes(bench, memo, labels, n_classes):
    prepared = prepare(bench, memo, labels=labels)
    assert len(prepared.classes) == n_classes
    assert prepared.classes == sorted(prepared.classes)
    assert prepare(bench, memo, labels=labels, seed=7).classes == prepared.classes
    assert (
        prepared.records["label"] == [prepared.classes[t] for t in prepared.records["target"]]
    ).all()


def test_undecodable_files_are_skipped_and_counted(bench, memo):
    prepared = prepare(bench, memo, labels="origin")
    assert dict(prepared.skipped) == {**bench["skipped"], "unlabelled": 0}
    assert not prepared.records["path"].str.contains("truncated").any()


def test_grayscale_and_cmyk_jpegs_decode_to_rgb(bench):
    folder = bench["dataset"] / "train" / "baroque"
    for name in ("trap_gray.jpg", "trap_cmyk.jpg"):
        assert open_rgb(folder / name).mode == "RGB"
        image = read_square_rgb(folder / name, 16)
        assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    grey = read_square_rgb(folder / "trap_gray.jpg", 16).astype(int)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()


def test_official_test_split_is_never_resampled(bench, memo):
    official = set(scan(bench["root"]).records.query("split == 'test'")["path"])
    for seed in (0, 1):
        prepared = prepare(bench, memo, labels="origin_style", seed=seed, max_per_class=3)
        assert set(prepared.split("test")["path"]) == official


def test_val_is_a_stratified_seeded_cut_of_train(bench, memo):
    first = prepare(bench, memo, labels="origin_style", val_fraction=0.25, seed=3)
    again = prepare(bench, memo, labels="origin_style", val_fraction=0.25, seed=3)
    other = prepare(bench, memo, labels="origin_style", val_fraction=0.25, seed=4)
    val = first.split("val")
    assert val["path"].tolist() == again.split("val")["path"].tolist()
    assert set(val["path"]) != set(other.split("val")["path"])
    fit = first.records[first.records["split"] != "test"]["label"].value_counts()
    expected = {label: round(n * 0.25) for label, n in fit.items()}
    assert val["label"].value_counts().to_dict() == expected
    assert expected["AI_baroque"] == 2  # LD + SD pooled: 8 images


def test_max_per_class_caps_train_and_val_together(bench, memo):
    prepared = prepare(bench, memo, labels="origin_style", max_per_class=3, seed=0)
    fit = prepared.records[prepared.records["split"].isin(["train", "val"])]
    assert set(fit["label"].value_counts()) == {3}


def test_wrong_roots_raise_one_clear_line(bench, tmp_path):
    with pytest.raises(DatasetLayoutError, match="pointed at the parent folder"):
        scan(bench["root"].parent)
    with pytest.raises(DatasetLayoutError, match="pointed at a split folder"):
        scan(bench["dataset"] / "train")
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        scan(tmp_path / "nowhere")
    (tmp_path / "photos").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"train/ and test/.*found photos") as error:
        scan(tmp_path)
    assert "\n" not in str(error.value)


def test_unknown_class_folder_is_an_error_naming_the_expected_ones(tmp_path):
    dataset = make_ai_artbench(tmp_path, train_per_folder=1, test_per_folder=0)["dataset"]
    write_image(dataset / "train" / "Ukiyo_e" / "0.jpg", 1)
    with pytest.raises(DatasetLayoutError, match=r"unknown folder 'Ukiyo_e'.*AI_LD_art_nouveau"):
        scan(tmp_path)
