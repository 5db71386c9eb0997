"""Evaluation scoring through torchmetrics: the per-class report and confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artclf.evaluation.scoring import score_task


def test_per_class_report_and_confusion_match_a_hand_count() -> None:
    # true:      0  0  0  1  1  2
    # predicted: 0  0  1  1  1  1   (class 2 is never predicted)
    targets = np.array([0, 0, 0, 1, 1, 2])
    predicted = torch.tensor([0, 0, 1, 1, 1, 1])
    probs = torch.nn.functional.one_hot(predicted, 3).float() * 0.8 + 0.2 / 3
    scores = score_task(probs, targets, ["a", "b", "c"], "test/")
    assert scores.confusion.tolist() == [[2, 1, 0], [0, 2, 0], [0, 1, 0]]
    report = scores.report.set_index("class")
    assert report["support"].tolist() == [3, 2, 1]
    assert report["precision"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert report["recall"].tolist() == pytest.approx([2 / 3, 1.0, 0.0])
    assert report["f1"].tolist() == pytest.approx([0.8, 2 / 3, 0.0])
    assert scores.metrics["test/acc"] == pytest.approx(4 / 6)
    assert set(scores.metrics) >= {"test/macro_f1", "test/weighted_f1"}
