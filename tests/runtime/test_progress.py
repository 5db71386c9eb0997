"""Progress a person sees in long loops over files (``artclf.runtime.progress.progress``): a
bar on a terminal, lines in a log, nothing for one item; and numbers written for people."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from lightning.pytorch.utilities.model_summary.model_summary import summarize

from artclf.runtime.progress import ParamsSummary, progress, shown_value, shown_values


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_lines_with_counts_rate_and_eta(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe, not a terminal
    batches = [[1, 2], [3, 4], [5]]
    with caplog.at_level(logging.INFO, logger="artclf.runtime.progress"):
        assert list(progress(batches, "predict", size=len)) == batches
    (line,) = [r.getMessage() for r in caplog.records]  # a fast loop: its last line only
    assert line.startswith("predict, step 5/5, ") and "images/s" in line and "ETA" in line


def test_a_terminal_gets_a_bar_on_stderr(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress(["a", "b", "c"], "explain", unit="overlays")) == ["a", "b", "c"]
    shown = terminal.getvalue()
    assert "explain" in shown and "3/3" in shown and "overlays" in shown
    assert capsys.readouterr().out == ""  # stdout stays the command's (predict output=json)


def test_one_item_shows_nothing(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with caplog.at_level(logging.INFO):
        assert list(progress([[1, 2, 3]], "predict", size=len)) == [[1, 2, 3]]
    assert not caplog.records and not terminal.getvalue()


def test_numbers_are_written_for_people() -> None:
    assert shown_value("test/n_images", 900.0) == "900"
    assert shown_value("test/acc", 0.8516129032258064) == "0.8516"
    assert shown_values({"style_loss": 12345.678901, "lpips": None, "ssim": 0.1234567}) == (
        "style_loss=1.235e+04, ssim=0.1235"
    )


def test_the_model_summary_has_no_flops(caplog: pytest.LogCaptureFixture) -> None:
    from lightning.pytorch.demos.boring_classes import BoringModel

    summary = summarize(BoringModel(), max_depth=1)  # one Linear(32, 2): 66 parameters
    with caplog.at_level(logging.INFO, logger="artclf.runtime.progress"):
        ParamsSummary.summarize(
            summary._get_summary_data(),
            summary.total_parameters,
            summary.trainable_parameters,
            summary.model_size,
            summary.total_training_modes,
            total_flops=0,
        )
    (text,) = [r.getMessage() for r in caplog.records]
    assert "66        Total params" in text
    assert "FLOP" not in text.upper()
