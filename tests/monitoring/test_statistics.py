"""The statistics monitoring judges by, on seeded synthetic data: the embedding test keeps
its false-alarm rate under no shift and finds a shifted stream; the class-mix test finds a
changed mix and agrees with scipy's chi-square where that applies; far images count as out
of distribution."""

from __future__ import annotations

import numpy as np
from monitoring_helpers import MIX, embeddings, reference
from scipy.stats import chi2_contingency

from artclf.monitoring import stats

PERMUTATIONS = 200


def test_mmd_p_is_uniform_ish_under_no_shift() -> None:
    """40 windows, each with a fresh reference, all from one distribution, projected with the
    reference's PCA as live embeddings are: at alpha 0.05 about 2 alarms are expected."""
    rng = np.random.default_rng(7)
    p = []
    for _ in range(40):
        held = reference(rng)
        window = held.project(embeddings(rng, 60))
        p.append(stats.mmd_p(held.projected, window, PERMUTATIONS, rng))
    p = np.array(p)
    assert (p < 0.05).sum() <= 5, p
    assert 0.3 < p.mean() < 0.7, p  # spread over (0, 1], not stuck near 0 or 1


def test_mmd_p_finds_a_shifted_stream() -> None:
    rng = np.random.default_rng(8)
    held = reference(rng)
    window = held.project(embeddings(rng, 60, shift=0.5))
    assert stats.mmd_p(held.projected, window, PERMUTATIONS, rng) < 0.01


def test_class_mix_p_keeps_its_false_alarm_rate_and_finds_a_changed_mix() -> None:
    rng = np.random.default_rng(9)
    same = [
        stats.class_mix_p(rng.multinomial(120, MIX), rng.multinomial(60, MIX), PERMUTATIONS, rng)
        for _ in range(40)
    ]
    assert sum(p < 0.05 for p in same) <= 5, same
    changed = rng.multinomial(60, [0.1, 0.2, 0.3, 0.4])
    assert stats.class_mix_p(rng.multinomial(120, MIX), changed, PERMUTATIONS, rng) < 0.01


def test_class_mix_p_agrees_with_scipy_on_large_counts() -> None:
    """With every expected count large, the permutation p-value is the chi-square law's;
    classes nobody predicted are left out of the table."""
    rng = np.random.default_rng(10)
    reference_counts, window_counts = np.array([300, 250, 0, 200]), np.array([330, 240, 0, 170])
    expected = chi2_contingency(np.array([[300, 250, 200], [330, 240, 170]]), correction=False)
    p = stats.class_mix_p(reference_counts, window_counts, 4000, rng)
    assert abs(p - expected.pvalue) < 0.03


def test_far_images_are_out_of_distribution() -> None:
    rng = np.random.default_rng(11)
    held = reference(rng)
    confident = np.full(60, 0.9)
    near = stats.out_of_distribution(
        confident, held.project(embeddings(rng, 60)), held.confidence["style"], held.projected
    )
    far = stats.out_of_distribution(
        confident,
        held.project(embeddings(rng, 60, shift=5.0)),
        held.confidence["style"],
        held.projected,
    )
    unsure = stats.out_of_distribution(
        np.full(60, 0.01),
        held.project(embeddings(rng, 60)),
        held.confidence["style"],
        held.projected,
    )
    assert near.mean() < 0.2 and far.all() and unsure.all()
