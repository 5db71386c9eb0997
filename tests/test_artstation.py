"""ArtStation portfolios: formats, shipped or computed class weights, CSV/folder mismatches."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from artclf.data.pipeline import prepare_records
from fixtures import make_artstation


def prepare(root: Path, **options):
    return prepare_records("artstation", root, labels="artist", class_weights=True, **options)


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
    assert "'bo-kim' has 9 images" in warnings
    # the CSV does not cover every class, so weights are computed from the train split
    train = counts["train"]
    n = len(prepared.classes)
    assert prepared.class_weights == pytest.approx(
        [sum(train.values()) / (n * train[c]) for c in prepared.classes]
    )


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
