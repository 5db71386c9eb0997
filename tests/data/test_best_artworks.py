"""Best Artworks of All Time: Dürer's spellings, duplicates, both image forms, weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from artclf.data.pipeline import label_records
from artclf.data.sources import DatasetLayoutError
from fixtures import make_best_artworks


def prepare(root: Path, **options):
    return label_records("best_artworks", root, labels="artist", **options)


def totals(prepared) -> dict[str, int]:
    counts = prepared.counts()
    return {c: sum(counts[s][c] for s in counts) for c in prepared.classes}


def test_images_form_folds_durer_spellings_and_drops_duplicates(tmp_path: Path) -> None:
    expected = make_best_artworks(tmp_path)
    prepared = prepare(tmp_path)
    assert totals(prepared) == expected["counts"]
    assert prepared.classes == ["Albrecht Dürer", "Claude Monet", "Ilya Repin"]
    assert +prepared.skipped == expected["skipped"]


def test_resized_form_takes_the_artist_from_the_file_name(tmp_path: Path) -> None:
    expected = make_best_artworks(tmp_path)
    assert totals(prepare(tmp_path, layout="resized")) == expected["resized"]


def test_min_count_and_balanced_class_weights(tmp_path: Path) -> None:
    """``total / (n_classes * count)`` over every image of each class, as the studies did."""
    make_best_artworks(tmp_path)
    prepared = prepare(tmp_path, min_count=3, class_weights=True)
    assert prepared.classes == ["Albrecht Dürer", "Claude Monet"]
    images = totals(prepared)
    total = sum(images.values())
    assert prepared.class_weights == pytest.approx(
        [total / (2 * images[c]) for c in prepared.classes]
    )


def test_parent_folder_root_is_one_clear_error(tmp_path: Path) -> None:
    make_best_artworks(tmp_path / "best-artworks")
    with pytest.raises(DatasetLayoutError, match=r"artists\.csv.*pointed at the parent folder"):
        prepare(tmp_path)
