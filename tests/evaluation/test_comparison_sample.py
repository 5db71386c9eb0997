"""The sample size of a champion/challenger comparison is fixed in advance: ``action=plan``
computes it, and ``sample_size=N`` scores exactly N seeded images or refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from artclf.evaluation.comparison import mcnemar_sample_size
from artclf.evaluation.selection import Sample


def test_the_planned_size_gives_the_asked_power() -> None:
    """Simulated paired comparisons of that size detect the gain about 80 % of the time."""
    gain, discordant = 0.1, 0.2
    n = mcnemar_sample_size(gain, discordant, alpha=0.05, power=0.8)
    rng = np.random.default_rng(0)
    share_for_candidate = (discordant + gain) / (2 * discordant)
    detected = 0
    for _ in range(1000):
        disagreements = rng.binomial(n, discordant)
        for_candidate = rng.binomial(disagreements, share_for_candidate)
        p = binomtest(for_candidate, disagreements, 0.5).pvalue
        detected += p < 0.05 and for_candidate > disagreements - for_candidate
    assert 0.74 <= detected / 1000 <= 0.88
    assert mcnemar_sample_size(0.05, 0.15, 0.05, 0.8) > 3 * n  # half the gain: ~4x the images


def test_a_gain_above_the_discordance_is_refused() -> None:
    with pytest.raises(ValueError, match="gain <= discordant"):
        mcnemar_sample_size(0.3, 0.2, 0.05, 0.8)


def test_a_sample_is_the_same_for_both_versions_and_never_smaller() -> None:
    table = pd.DataFrame({"path": [f"{i}.jpg" for i in range(50)], "style": np.arange(50) % 3})
    first = Sample(20, seed=3).draw(table, "the feedback")
    assert len(first) == 20 and first.equals(Sample(20, seed=3).draw(table, "the feedback"))
    assert list(first.index) == sorted(first.index)
    with pytest.raises(ValueError, match=r"holds 50 images; sample_size=80 .* collect 30 more"):
        Sample(80, seed=3).draw(table, "the feedback")
