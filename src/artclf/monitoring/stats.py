"""The tests a window of predictions is judged by, each against the held-out reference: the
class mix (chi-square), the confidence (two-sample Kolmogorov-Smirnov), the embeddings (MMD
with an RBF kernel) and the out-of-distribution share. The p-values of the class mix and the
embeddings come from permutations, not from an asymptotic law: a reference holds a few
images per class, and a permutation test keeps its false-alarm rate at alpha at any size."""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

#: Reference quantiles an image must fall outside to count as out of distribution: its
#: confidence below the 5th percentile, or its distance to the nearest reference embedding
#: above the 95th percentile of the reference's own nearest-neighbour distances.
CONFIDENCE_QUANTILE, DISTANCE_QUANTILE = 0.05, 0.95


def class_mix_p(
    reference: np.ndarray, window: np.ndarray, permutations: int, rng: np.random.Generator
) -> float:
    """P-value of Pearson's chi-square of the 2 x classes table of predicted-class counts
    (reference, window): how often images relabelled at random between the two give a
    statistic at least as large."""
    table = np.stack([reference, window]).astype(np.int64)
    table = table[:, table.sum(0) > 0]
    classes, sizes = table.shape[1], table.sum(1)
    if classes < 2:
        return 1.0
    expected = sizes[0] * table.sum(0) / sizes.sum()
    pooled = np.repeat(np.arange(classes), table.sum(0))
    shuffled = rng.permuted(np.tile(pooled, (permutations, 1)), axis=1)[:, : sizes[0]]
    offsets = classes * np.arange(permutations)[:, None]
    drawn = np.bincount((shuffled + offsets).ravel(), minlength=permutations * classes)
    null = _chi2(drawn.reshape(permutations, classes), expected, table.sum(0))
    observed = _chi2(table[:1], expected, table.sum(0))[0]
    return float((1 + np.sum(null >= observed * (1 - 1e-12))) / (1 + permutations))


def _chi2(first_rows: np.ndarray, expected: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Pearson's statistic of 2-row tables from their first rows (the column totals fixed,
    so the second row and its expected counts follow)."""
    second, second_expected = totals - first_rows, totals - expected
    return ((first_rows - expected) ** 2 / expected).sum(1) + (
        (second - second_expected) ** 2 / second_expected
    ).sum(1)


def confidence_p(reference: np.ndarray, window: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov p-value of the max probabilities."""
    return float(ks_2samp(reference, window).pvalue)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(sq, 0.0)


def mmd_p(x: np.ndarray, y: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Permutation p-value of the (biased) squared MMD between samples ``x`` and ``y`` under
    an RBF kernel whose bandwidth is the median distance between the pooled points."""
    pooled = np.concatenate([x, y]).astype(np.float64)
    sq = squared_distances(pooled, pooled)
    median = np.median(sq[np.triu_indices(len(pooled), 1)])
    kernel = np.exp(-sq / (2 * median if median > 0 else 1.0))
    # MMD² = wᵀKw with w = 1/n on x and -1/m on y; a permutation shuffles w
    weights = np.concatenate([np.full(len(x), 1 / len(x)), np.full(len(y), -1 / len(y))])
    observed = weights @ kernel @ weights
    shuffled = rng.permuted(np.tile(weights, (permutations, 1)), axis=1).T
    null = np.einsum("ib,ib->b", shuffled, kernel @ shuffled)
    return float((1 + np.sum(null >= observed * (1 - 1e-9))) / (1 + permutations))


def nearest_distances(
    points: np.ndarray, reference: np.ndarray, itself: bool = False
) -> np.ndarray:
    """Distance from each point to its nearest reference point (``itself``: the points are
    the reference, each one's own distance left out)."""
    sq = squared_distances(points, reference)
    if itself:
        np.fill_diagonal(sq, np.inf)
    return np.sqrt(sq.min(1))


def out_of_distribution(
    confidence: np.ndarray,
    projected: np.ndarray,
    reference_confidence: np.ndarray,
    reference_projected: np.ndarray,
) -> np.ndarray:
    """Which images are unlike the reference: less confident than its 5th percentile, or
    farther from every reference embedding than 95 % of the reference images are from their
    nearest neighbour."""
    floor = np.quantile(reference_confidence, CONFIDENCE_QUANTILE)
    own = nearest_distances(reference_projected, reference_projected, itself=True)
    ceiling = np.quantile(own, DISTANCE_QUANTILE)
    far = nearest_distances(projected, reference_projected) > ceiling
    return (confidence < floor) | far
