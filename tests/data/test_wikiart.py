"""WikiArt in its three download forms, with the traps of the real downloads."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from artclf.data.images import open_rgb
from artclf.data.pipeline import label_records
from artclf.data.sources import DatasetLayoutError
from artclf.data.sources.wikiart import scan
from fixtures import (
    HF_STYLES,
    MOJIBAKE_NAME,
    NFD_NAME,
    image_bytes,
    make_artgan,
    make_hf,
    make_hf_hub_cache,
    make_steubk,
    write_image,
)


def prepare(root: Path, **options):
    return label_records("wikiart", root, labels=options.pop("labels", "style"), **options)


@pytest.mark.parametrize("labels", ["style", "genre", "artist"])
def test_artgan_split_files_give_each_scheme_its_split(tmp_path: Path, labels: str) -> None:
    expected = make_artgan(tmp_path)
    prepared = prepare(tmp_path, labels=labels)
    counts = prepared.counts()
    assert prepared.classes == sorted(expected[labels]["train"])
    assert {s: counts[s] for s in ("train", "val")} == expected[labels]
    assert not any(counts["test"].values())
    assert {r: prepared.skipped[r] for r in expected["skipped"]} == expected["skipped"]
    assert prepared.skipped["missing"] == expected["missing"][labels]


def test_artgan_matches_nfd_and_mojibake_names_to_the_split_files(tmp_path: Path) -> None:
    make_artgan(tmp_path)
    result = scan(tmp_path)
    records = result.records_for("style")
    listed = {Path(p).name for p in records.loc[records["style"].notna(), "path"]}
    assert {NFD_NAME, MOJIBAKE_NAME} <= listed
    assert result.skipped_for(["style"])["missing"] == 1


def test_artgan_artist_from_a_mojibake_file_name_is_the_same_artist(tmp_path: Path) -> None:
    images = tmp_path / "wikiart"
    write_image(images / "Cubism" / MOJIBAKE_NAME, 1)  # grã©goire-michonze_birds.jpg
    write_image(images / "Cubism" / "grégoire-michonze_fish.jpg", 2)
    write_image(images / "Cubism" / "d\u00e2\u20ac\u2122artagnan_x.jpg", 3)  # dâ€™artagnan
    write_image(images / "Cubism" / "juan-gris_a.jpg", 4)
    (images / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # beside the style folders
    prepared = prepare(tmp_path, labels="artist", val_fraction=0, test_fraction=0)
    assert prepared.counts()["train"] == {
        "d\u2019artagnan": 1,
        "grégoire-michonze": 2,
        "juan-gris": 1,
    }
    assert prepared.skipped["not_image"] == 1


@pytest.mark.parametrize("inner", [False, True])
def test_artgan_without_split_files_cuts_seeded_stratified_splits(
    tmp_path: Path, inner: bool
) -> None:
    expected = make_artgan(tmp_path, split_files=False)
    prepared = prepare(tmp_path / "wikiart" if inner else tmp_path, val_fraction=0.25, seed=3)
    totals = {
        c: sum(prepared.counts()[s][c] for s in ("train", "val", "test")) for c in prepared.classes
    }
    assert totals == {"Art_Nouveau": 3, "Baroque": 2, "Impressionism": 6}
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
    assert prepare(tmp_path, top_k=2).classes == ["Art_Nouveau", "Impressionism"]
    prepared = prepare(tmp_path, min_count=4)
    assert prepared.classes == ["Impressionism"]
    assert prepared.skipped["unlabelled"] == 5


@pytest.mark.parametrize(
    "limit", [{"top_k": -1}, {"top_k": 0}, {"max_per_class": 0}, {"min_count": -2}]
)
def test_limits_that_would_silently_drop_classes_are_errors(tmp_path: Path, limit) -> None:
    make_artgan(tmp_path, split_files=False)
    with pytest.raises(ValueError, match=f"data.{next(iter(limit))}=.*whole number"):
        prepare(tmp_path, **limit)


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
    assert style.classes == ["Art_Nouveau", "Baroque", "Impressionism"]
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


def test_hf_label_minus_one_means_no_label(tmp_path: Path) -> None:
    """The ``datasets`` library writes -1 for a missing ClassLabel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"image": {"bytes": image_bytes(i), "path": None}, "artist": artist, "style": 3}
        for i, artist in enumerate((-1, 1, 1))
    ]
    (tmp_path / "hf").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "hf" / "train.parquet")
    prepared = prepare(tmp_path / "hf", labels="artist", val_fraction=0, test_fraction=0)
    assert prepared.classes == ["1"] and prepared.skipped["unlabelled"] == 1


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


@pytest.mark.parametrize("form", ["artgan", "artgan_without_split_files", "steubk"])
def test_every_form_names_the_art_nouveau_modern_folder_art_nouveau(
    tmp_path: Path, form: str
) -> None:
    """Class Art_Nouveau lives in Art_Nouveau_Modern (huggan/wikiart agrees)."""
    if form == "steubk":
        make_steubk(tmp_path)
    else:
        make_artgan(tmp_path, split_files=form == "artgan")
    classes = prepare(tmp_path).classes
    assert "Art_Nouveau" in classes and "Art_Nouveau_Modern" not in classes


def test_nfd_and_nfc_spellings_of_one_artist_are_one_class(tmp_path: Path) -> None:
    make_artgan(tmp_path, split_files=False)  # NFD_NAME is Félix Vallotton's, spelled NFD
    nfc_name = unicodedata.normalize("NFC", "félix-vallotton_lake.jpg")
    write_image(tmp_path / "wikiart" / "Baroque" / nfc_name, 77)
    prepared = prepare(tmp_path, labels="artist")
    felix = [c for c in prepared.classes if "vallotton" in c]
    assert felix == [unicodedata.normalize("NFC", "félix-vallotton")]
    assert sum(prepared.counts()[s][felix[0]] for s in ("train", "val", "test")) == 2


def test_hf_hub_cache_folder_is_detected_and_extracted_into_the_cache_dir(
    tmp_path: Path,
) -> None:
    expected = make_hf(tmp_path / "hf")
    hub = make_hf_hub_cache(tmp_path / "hub", tmp_path / "hf" / "data")
    cache = tmp_path / "cache"
    for root in (hub, hub.parent):  # the dataset's folder, or the hub cache holding it
        prepared = prepare(root, cache_dir=cache)
        totals = {
            c: sum(prepared.counts()[s][c] for s in ("train", "val", "test"))
            for c in prepared.classes
        }
        assert totals == expected["style"]  # the older snapshot is not read too
        assert all(Path(p).is_relative_to(cache / "hf_extract") for p in prepared.records["path"])


def test_corrupt_parquet_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "hf" / "data" / "train-00000-of-00001.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="not a readable parquet file") as error:
        scan(tmp_path / "hf", cache_dir=tmp_path / "cache")
    assert str(bad) in str(error.value) and "\n" not in str(error.value)
