"""Messages a new user relies on: a frozen random network is called out, predict counts the
files it skips and prints whole file names when its output is piped."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artclf.inference.classifier import image_paths
from artclf.models.classifier import create_classifier
from artclf.predict import render

TINY_MODEL = {"arch": "simple_cnn", "image_size": 32, "pool": "avg", "freeze": ["block1"]}


def test_freezing_a_random_network_warns_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="artclf.models.classifier"):
        create_classifier({**TINY_MODEL, "pretrained": False}, {"style": 3})
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert "model.pretrained=false" in record.getMessage() and "random" in record.getMessage()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="artclf.models.classifier"):
        create_classifier({**TINY_MODEL, "freeze": []}, {"style": 3})  # nothing frozen
        create_classifier(TINY_MODEL, {"style": 3}, pretrained=False)  # the checkpoint's weights
    assert not caplog.records


def test_predict_input_counts_the_files_it_skips(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    with caplog.at_level(logging.WARNING, logger="artclf.inference.classifier"):
        assert image_paths(tmp_path) == [tmp_path / "a.png"]
    (record,) = caplog.records
    assert "skipped 2 files that are not images" in record.getMessage()


def test_predict_table_keeps_whole_file_names_when_piped(capsys: pytest.CaptureFixture) -> None:
    name = "/data/" + "a-very-long-folder-name/" * 6 + "painting_with_a_long_title.jpg"
    ranked = [{"label": "Impressionism", "probability": 0.9}]
    render([{"path": name, "predictions": {"style": ranked}}], "table")
    lines = capsys.readouterr().out.splitlines()
    assert any(name in line and "Impressionism" in line for line in lines)
