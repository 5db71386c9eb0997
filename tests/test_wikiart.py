"""WikiArt in its three download forms, with the traps of the real downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from artclf.data.images import open_rgb
from artclf.data.pipeline import prepare_records
from artclf.data.sources import DatasetLayoutError
from artclf.data.sources.wikiart import scan
from fixtures import HF_STYLES, MOJIBAKE_NAME, NFD_NAME, make_artgan, make_hf, make_steubk


def prepare(root: Path, **options):
    return prepare_records("wikiart", root, labels=options.pop("labels", "style"), **options)


@pytest.mark.parametrize("labels", ["style", "genre", "artist"])
def test_artgan_split_files_give_each_scheme_its_split(tmp_path: Path, labels: str) -> None:
    expected = make_artgan(tmp_path)
    prepared = prepare(tmp_path, labels=labels)
    counts = prepared.counts()
    assert prepared.classes == sorted(expected[labels]["train"])
    assert {s: counts[s] for s in ("train", "val")} == expected[labels]
    assert not any(counts["test"].values())
    assert {r: prepared.skipped[r] for r in expected["skipped"]} == expected["skipped"]


def test_artgan_matches_nfd_and_mojibake_names_to_the_split_files(tmp_path: Path) -> None:
    make_artgan(tmp_path)
    result = scan(tmp_path)
    records = result.records_for("style")
    listed = {Path(p).name for p in records.loc[records["style"].notna(), "path"]}
    assert {NFD_NAME, MOJIBAKE_NAME} <= listed
    assert result.skipped["missing"] == 1


@pytest.mark.parametrize("inner", [False, True])
def test_artgan_without_split_files_cuts_seeded_stratified_splits(
    tmp_path: Path, inner: bool
) -> None:
    expected = make_artgan(tmp_path, split_files=False)
    prepared = prepare(tmp_path / "wikiart" if inner else tmp_path, val_fraction=0.25, seed=3)
    totals = {
        c: sum(prepared.counts()[s][c] for s in ("train", "val", "test")) for c in prepared.classes
    }
    assert totals == {"Art_Nouveau_Modern": 3, "Baroque": 2, "Impressionism": 6}
    assert +prepared.skipped == expected["skipped"]
    assert prepared.counts() == prepare(tmp_path, val_fraction=0.25, seed=3).counts()
    gray, cmyk = (
        tmp_path / "wikiart/Impressionism" / f"claude-monet_{m}.jpg" for m in ("gray", "cmyk")
    )
    assert {str(gray), str(cmyk)} <= set(prepared.records["path"])
    assert open_rgb(gray).mode == open_rgb(cmyk).mode == "RGB"


def test_artgan_genre_without_genre_files_lists_the_label_columns(tmp_path: Path) -> None:
    make_artgan(tmp_path, split_files=False)
    with pytest.raises(ValueError, match="valid choices: style, artist"):
        prepare(tmp_path, labels="genre")


def test_top_k_and_min_count_drop_rare_classes_as_unlabelled(tmp_path: Path) -> None:
    make_artgan(tmp_path, split_files=False)
    assert prepare(tmp_path, top_k=2).classes == ["Art_Nouveau_Modern", "Impressionism"]
    prepared = prepare(tmp_path, min_count=4)
    assert prepared.classes == ["Impressionism"]
    assert prepared.skipped["unlabelled"] == 5


def test_wrong_root_says_what_it_found_and_where_to_point(tmp_path: Path) -> None:
    make_artgan(tmp_path / "download", split_files=False)
    with pytest.raises(DatasetLayoutError, match=r"pointed at the parent folder.*download"):
        scan(tmp_path)
    with pytest.raises(DatasetLayoutError, match="pointed at a sub-folder"):
        scan(tmp_path / "download/wikiart/Baroque")
    with pytest.raises(ValueError, match="valid choices"):
        scan(tmp_path / "download", layout="kaggle")


def test_steubk_uses_classes_csv_subsets_and_first_genre(tmp_path: Path) -> None:
    expected = make_steubk(tmp_path)
    style = prepare(tmp_path, val_fraction=0.0)
    assert style.classes == ["Baroque", "Impressionism"]
    assert style.counts()["test"] == expected["style_test"]
    assert {r: style.skipped[r] for r in expected["skipped"]} == expected["skipped"]
    assert prepare(tmp_path, labels="genre").classes == expected["genre"]


@pytest.mark.parametrize("metadata", [True, False])
def test_hf_parquet_extracts_images_to_the_cache(tmp_path: Path, metadata: bool) -> None:
    expected = make_hf(tmp_path / "hf", metadata=metadata)
    prepared = prepare(tmp_path / "hf", val_fraction=0.25, test_fraction=0.25)
    names = (
        HF_STYLES
        if metadata
        else ["Abstract_Expressionism", "Action_painting", "Analytical_Cubism"]
    )
    assert prepared.classes == sorted(names[i] for i in (1, 2))
    totals = {
        c: sum(prepared.counts()[s][c] for s in ("train", "val", "test")) for c in prepared.classes
    }
    assert sorted(totals.values()) == sorted(expected["style"].values())
    assert prepared.skipped["empty"] == 1
    assert not any(Path(p).is_relative_to(tmp_path / "hf") for p in prepared.records["path"])
    artists = prepare(tmp_path / "hf", labels="artist")
    assert "Unknown Artist" not in artists.classes


def test_artgan_split_files_in_one_flat_folder_and_rows_naming_skipped_files(
    tmp_path: Path,
) -> None:
    expected = make_artgan(tmp_path)
    flat = tmp_path / "wikiart_csv"
    flat.mkdir()
    for scheme in ("Style", "Genre", "Artist"):
        for file in (tmp_path / scheme).iterdir():
            file.rename(flat / file.name)
        (tmp_path / scheme).rmdir()
    with (flat / "style_train.csv").open("a") as rows:
        rows.write("Impressionism/claude-monet_empty.jpg,12\r\n")  # on disk, zero bytes
    prepared = prepare(tmp_path)
    assert {s: prepared.counts()[s] for s in ("train", "val")} == expected["style"]
    assert {r: prepared.skipped[r] for r in expected["skipped"]} == expected["skipped"]
