"""Champion against candidate: two registered versions scored on the same images (the split
``evaluate`` builds), with a paired test of the difference.

McNemar's exact test looks only at the images the two models disagree on (one right, one
wrong): under "equally good", each such image is a fair coin, so the smaller count is binomial
(n = disagreements, p = 0.5). The bootstrap resamples images (both models' answers together)
for a 95 % interval of the accuracy difference. A candidate *wins* when it is more accurate and
the test says the difference is not chance (p < ``alpha``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from scipy.stats import binomtest, norm

from artclf.data.spec import DataSpec
from artclf.evaluation.scoring import score_task
from artclf.evaluation.selection import Sample, evaluation_spec, scored_images
from artclf.inference.classifier import load_module, predict_probabilities
from artclf.models.module import ClassificationModule
from artclf.tracking.registry import get_version


@dataclass
class Scored:
    """One version's answers on the shared images (its first task)."""

    name: str
    version: str
    ref: str
    metrics: dict[str, float]
    correct: np.ndarray
    per_class: pd.DataFrame

    @property
    def label(self) -> str:
        return (
            f"{self.name} v{self.version} (@{self.ref})"
            if not self.ref.isdigit()
            else (f"{self.name} v{self.version}")
        )


@dataclass
class Comparison:
    candidate: Scored
    champion: Scored
    n_images: int
    split: str
    mcnemar_p: float
    only_candidate_right: int
    only_champion_right: int
    acc_diff: float
    ci95: tuple[float, float]
    alpha: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def candidate_wins(self) -> bool:
        return self.acc_diff > 0 and self.mcnemar_p < self.alpha

    def verdict(self) -> str:
        """One sentence: who won and on what evidence."""
        diff = (
            f"accuracy {self.candidate.metrics['acc']:.4f} vs {self.champion.metrics['acc']:.4f} "
            f"(difference {self.acc_diff:+.4f}, 95 % CI [{self.ci95[0]:+.4f}, "
            f"{self.ci95[1]:+.4f}]) on {self.n_images} {self.split} images, "
            f"McNemar exact p = {self.mcnemar_p:.3g}"
        )
        if self.candidate_wins:
            return f"candidate wins: {diff}"
        reason = "not more accurate" if self.acc_diff <= 0 else f"not significant at {self.alpha}"
        return f"candidate does not win ({reason}): {diff}"

    def per_class_deltas(self) -> pd.DataFrame:
        """Recall (per-class accuracy) of both and the candidate's gain, per class."""
        a, b = self.candidate.per_class, self.champion.per_class
        return pd.DataFrame(
            {
                "class": a["class"],
                "champion_recall": b["recall"],
                "candidate_recall": a["recall"],
                "delta": a["recall"] - b["recall"],
                "support": a["support"],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": {"version": self.candidate.version, **self.candidate.metrics},
            "champion": {"version": self.champion.version, **self.champion.metrics},
            "n_images": self.n_images,
            "split": self.split,
            "acc_diff": self.acc_diff,
            "ci95": list(self.ci95),
            "mcnemar_p": self.mcnemar_p,
            "only_candidate_right": self.only_candidate_right,
            "only_champion_right": self.only_champion_right,
            "candidate_wins": self.candidate_wins,
            "verdict": self.verdict(),
        }


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact p-value, and the counts of images only ``a`` / only ``b`` got right."""
    only_a = int(np.sum(a_correct & ~b_correct))
    only_b = int(np.sum(~a_correct & b_correct))
    if only_a + only_b == 0:
        return 1.0, only_a, only_b
    return float(binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue), only_a, only_b


def mcnemar_sample_size(gain: float, discordant: float, alpha: float, power: float) -> int:
    """Images a paired comparison needs to detect an accuracy ``gain`` with ``power`` at
    ``alpha`` (two-sided), when the versions disagree on a ``discordant`` share of images
    (Connor's normal approximation to McNemar's test; the gain is at most the discordance)."""
    if not 0 < gain <= discordant <= 1:
        raise ValueError(
            f"plan.gain={gain}, plan.discordant={discordant}: need 0 < gain <= discordant <= 1 "
            "(two versions differ in accuracy by at most the share of images they disagree on)"
        )
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    root = z_alpha * math.sqrt(discordant) + z_power * math.sqrt(discordant - gain**2)
    return math.ceil(root**2 / gain**2)


def bootstrap_ci(
    a_correct: np.ndarray, b_correct: np.ndarray, draws: int, seed: int
) -> tuple[float, float]:
    """95 % percentile interval of accuracy(a) - accuracy(b), resampling images."""
    rng = np.random.default_rng(seed)
    diff = a_correct.astype(np.float64) - b_correct.astype(np.float64)
    picks = rng.integers(0, len(diff), size=(draws, len(diff)))
    means = diff[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def load_version(name: str, ref: str) -> tuple[str, ClassificationModule]:
    """The number of the registered version ``ref`` of ``name``, and its classifier."""
    version = str(get_version(name, ref).version)
    return version, load_module(f"models:/{name}/{version}")


def score(
    name: str,
    ref: str,
    loaded: tuple[str, ClassificationModule],
    spec: DataSpec,
    split: str,
    batch_size: int,
    sample: Sample | None = None,
) -> tuple[Scored, pd.DataFrame]:
    """A version's metrics and per-image correctness on ``split`` of ``spec`` (first task)."""
    version, module = loaded
    table, images = scored_images(spec, split, module, sample)
    task, classes = next(iter(module.tasks.items()))
    probs = predict_probabilities(module, images, batch_size)[task]
    targets = table[task].to_numpy()
    scores = score_task(probs, targets, classes, "")
    correct = probs.argmax(dim=1).numpy() == targets
    scored = Scored(name, version, ref, scores.metrics, correct, scores.report)
    return scored, table


def compare(cfg: DictConfig) -> Comparison:
    """Score ``cfg.candidate`` and ``cfg.champion`` of model ``cfg.name`` on the same images:
    ``data=`` when given, else the data the champion was trained on."""
    if not cfg.get("name"):
        raise ValueError("name=<registered model> is required; list them: action=list")
    name, split = str(cfg.name), str(cfg.eval_split)
    champion_loaded = load_version(name, str(cfg.champion))
    spec = evaluation_spec(cfg, champion_loaded[1].hparams.get("data"))
    batch = int(cfg.batch_size)
    size = cfg.get("sample_size")
    sample = None if size is None else Sample(int(size), int(cfg.seed))
    champion, table_b = score(name, str(cfg.champion), champion_loaded, spec, split, batch, sample)
    candidate_loaded = load_version(name, str(cfg.candidate))
    candidate, table_a = score(
        name, str(cfg.candidate), candidate_loaded, spec, split, batch, sample
    )
    if candidate.version == champion.version:
        raise ValueError(
            f"candidate={cfg.candidate} and champion={cfg.champion} are the same version "
            f"({candidate.version}); pick two different versions (action=list shows them)"
        )
    if list(table_a.index) != list(table_b.index):
        raise ValueError("the two versions read different images; compare models of one dataset")
    p, only_a, only_b = mcnemar_exact(candidate.correct, champion.correct)
    diff = float(candidate.correct.mean() - champion.correct.mean())
    ci = bootstrap_ci(candidate.correct, champion.correct, int(cfg.bootstrap), int(cfg.seed))
    return Comparison(
        candidate, champion, len(table_a), split, p, only_a, only_b, diff, ci, float(cfg.alpha)
    )


def log_comparison(cfg: DictConfig, comparison: Comparison) -> str | None:
    """The comparison as its own MLflow run, tagged with both versions; its run id."""
    if not cfg.logger.enabled:
        return None
    from artclf.tracking import start_run
    from artclf.tracking.artifacts import log_texts, tag_run
    from artclf.tracking.metrics import log_metrics

    summary = comparison.to_dict()
    with start_run(cfg) as run:
        tag_run(
            run.info.run_id,
            {
                "artclf.model": comparison.candidate.name,
                "artclf.candidate_version": comparison.candidate.version,
                "artclf.champion_version": comparison.champion.version,
                "artclf.candidate_wins": str(comparison.candidate_wins),
            },
        )
        metrics = {f"candidate/{k}": v for k, v in comparison.candidate.metrics.items()}
        metrics.update({f"champion/{k}": v for k, v in comparison.champion.metrics.items()})
        metrics.update(
            acc_diff=comparison.acc_diff,
            acc_diff_ci_low=comparison.ci95[0],
            acc_diff_ci_high=comparison.ci95[1],
            mcnemar_p=comparison.mcnemar_p,
        )
        log_metrics(run.info.run_id, metrics)
        texts = {
            "comparison.json": json.dumps(summary, indent=2),
            "per_class.csv": comparison.per_class_deltas().to_csv(index=False),
        }
        log_texts(run.info.run_id, texts, "comparison")
        return run.info.run_id


def promote(cfg: DictConfig, comparison: Comparison) -> str | None:
    """Move ``champion`` onto the candidate when it won (or ``force=true``); the reason goes in
    the version's description. The reason, or None when nothing moved."""
    from datetime import datetime, timezone

    from artclf.tracking.registry import set_champion

    if not (comparison.candidate_wins or cfg.force):
        return None
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    forced = "" if comparison.candidate_wins else "forced (force=true) although "
    reason = (
        f"Promoted to champion {when} over v{comparison.champion.version}: "
        f"{forced}{comparison.verdict()}"
    )
    candidate, champion = comparison.candidate, comparison.champion
    set_champion(candidate.name, candidate.version, reason, expected=str(champion.version))
    return reason
