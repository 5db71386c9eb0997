"""A window judged against its reference: every figure with its sample size, an alarm only
where a threshold is crossed by enough images, and a window too small to judge saying so."""

from __future__ import annotations

import numpy as np
import pytest
from monitoring_helpers import CLASSES, reference, window

from artclf.monitoring.checks import Settings, judge
from artclf.monitoring.summary import summary

SETTINGS = Settings(
    {"mmd_p": 0.01, "chi2_p": 0.01, "ks_p": 0.01, "ood_rate": 0.2}, permutations=200
)


def figures(verdict) -> dict:
    return {f.name: f for f in verdict.findings}


def test_an_unshifted_window_passes_and_every_figure_has_its_size() -> None:
    rng = np.random.default_rng(1)
    verdict = judge(window(rng, 90, feedback=40), reference(rng), SETTINGS)
    found = figures(verdict)
    assert not verdict.alarms, summary([verdict])
    assert {name: f.n for name, f in found.items()} == {
        "chi2_p": 90, "ks_p": 90, "mmd_p": 90, "ood_rate": 90,
        "accuracy": 40, "latency_p50_ms": 90, "latency_p95_ms": 90,
    }  # fmt: skip
    assert found["accuracy"].value == pytest.approx(39 / 40)
    assert verdict.confusion.sum() == 40 and np.trace(verdict.confusion) == 39
    assert verdict.classes == CLASSES
    assert list(verdict.segments["n"]) == [30, 30, 30]  # 90 images, segments of >= 30


def test_a_shifted_window_alarms() -> None:
    rng = np.random.default_rng(2)
    verdict = judge(
        window(rng, 90, shift=1.0, mix=np.array([0.1, 0.1, 0.1, 0.7])), reference(rng), SETTINGS
    )
    assert {"mmd_p", "chi2_p", "ood_rate"} <= {f.name for f in verdict.alarms}
    assert "ALARM: tiny v1 " in summary([verdict])


def test_a_window_too_small_says_so_instead_of_alarming() -> None:
    rng = np.random.default_rng(3)
    verdict = judge(window(rng, 12, shift=3.0), reference(rng), SETTINGS)
    assert not verdict.alarms and verdict.segments.empty
    assert figures(verdict)["mmd_p"].note == "too few to judge: n=12 < min_samples=30"
    text = summary([verdict])
    assert "too few to judge: n=12 < min_samples=30" in text and text.endswith("no alarm")


def test_without_a_reference_only_accuracy_and_latency_are_figured() -> None:
    rng = np.random.default_rng(4)
    verdict = judge(window(rng, 40), None, SETTINGS, note="no reference: retrain it")
    assert figures(verdict)["mmd_p"].note == "no reference: retrain it"
    assert not verdict.alarms and figures(verdict)["latency_p95_ms"].value > 0
