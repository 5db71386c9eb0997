"""ArtStation portfolios: formats, shipped or computed class weights, CSV/folder mismatches."""

from __future__ import annotations

import logging
import math
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from artclf.data.pipeline import label_records
from fixtures import make_artstation, write_image


def prepare(root: Path, **options):
    return label_records("artstation", root, labels="artist", class_weights=True, **options)


def test_every_format_is_read_and_mismatches_are_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = make_artstation(tmp_path)
    with caplog.at_level(logging.WARNING, logger="artclf.data"):
        prepared = prepare(tmp_path)
    counts = prepared.counts()
    assert {c: sum(counts[s][c] for s in counts) for c in prepared.classes} == expected["counts"]
    assert +prepared.skipped == expected["skipped"]
    warnings = " | ".join(caplog.messages)
    assert "'gone-artist' but there is no such folder" in warnings
    assert "folder 'cy-dee' has no row" in warnings
    assert "'bo-kim' has 9 images, the folder has 4 readable (+1 unreadable)" in warnings
    # the CSV does not cover every class, so weights are computed from the images
    images, n = expected["counts"], len(prepared.classes)
    assert prepared.class_weights == pytest.approx(
        [sum(images.values()) / (n * images[c]) for c in prepared.classes]
    )


def test_files_beside_the_artist_folders_are_counted_but_not_the_weights_csv(
    tmp_path: Path,
) -> None:
    expected = make_artstation(tmp_path)
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "notes.txt").write_text("scraped 2024")
    write_image(tmp_path / "cover.jpg", seed=1)  # an image of no artist
    skipped = prepare(tmp_path).skipped
    assert skipped["not_image"] == expected["skipped"].get("not_image", 0) + 2
    assert skipped["unlabelled"] == expected["skipped"].get("unlabelled", 0) + 1


def test_weights_come_from_the_csv_when_it_covers_every_class(tmp_path: Path) -> None:
    make_artstation(tmp_path, weights_csv=False)
    pd.DataFrame(
        {
            "artist": ["anna-li", "bo-kim", "cy-dee"],
            "n_images": [3, 5, 2],
            "class_weight": [1, 2, 3],
        }
    ).to_csv(tmp_path / "class_weights.csv", index=False)
    assert prepare(tmp_path).class_weights == [1.0, 2.0, 3.0]


def test_root_without_artist_folders_is_one_clear_error(tmp_path: Path) -> None:
    make_artstation(tmp_path / "portfolios", weights_csv=False)
    with pytest.raises(ValueError, match="pointed at the parent folder"):
        prepare(tmp_path)


def test_nfd_folder_matches_its_nfc_row_and_counts_exclude_unreadable_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A macOS unzip spells the folder NFD, the CSV spells the artist NFC: one artist. bo-kim
    holds 4 readable images and a truncated one; the CSV's 4 is right."""
    make_artstation(tmp_path, weights_csv=False)
    jose = unicodedata.normalize("NFC", "josé-m")
    (tmp_path / "cy-dee").rename(tmp_path / unicodedata.normalize("NFD", jose))
    (tmp_path / "class_weights.csv").write_text(
        f"artist,n_images,class_weight\nanna-li,3,1\nbo-kim,4,2\n{jose},2,3\n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="artclf.data"):
        prepared = prepare(tmp_path)
    assert prepared.classes == ["anna-li", "bo-kim", jose]
    assert prepared.class_weights == [1.0, 2.0, 3.0]
    assert caplog.messages == []


def test_blank_weight_and_repeated_row_are_warned_and_weights_computed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_artstation(tmp_path, weights_csv=False)
    (tmp_path / "class_weights.csv").write_text(
        "artist,n_images,class_weight\nanna-li,3,\nbo-kim,4,2\nbo-kim,4,9\ncy-dee,2,3\n"
    )
    with caplog.at_level(logging.WARNING, logger="artclf.data"):
        prepared = prepare(tmp_path)
    assert prepared.class_weights is not None
    assert all(math.isfinite(w) for w in prepared.class_weights)
    train = prepared.counts()["train"]
    assert prepared.class_weights == pytest.approx(
        [sum(train.values()) / (3 * train[c]) for c in prepared.classes]
    )
    warnings = " | ".join(caplog.messages)
    assert "class_weights.csv line 2 ('anna-li'): class_weight '' is not a number" in warnings
    assert "class_weights.csv line 4 repeats 'bo-kim'" in warnings
