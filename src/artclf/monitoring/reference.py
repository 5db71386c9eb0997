"""What monitoring compares a deployed version against, computed once when training tests its
best checkpoint, on held-out images (the test split; validation without one). Never on
training images: the model fits them better than any new image, so traffic would look
shifted against them when it is not.

Per head: the class prior (true label counts), each image's confidence (its max probability)
and the predicted-class counts. For the embeddings (as serving records them, ``embedding``):
a PCA (numpy SVD, at most ``PCA_COMPONENTS`` components) fitted on a seeded half of the
images, and the other half projected with it. Projecting the reference with a PCA fitted on
the same images would spread it wider than any new image along those components (the fit
chases its noise), and the embedding test would alarm on unshifted traffic; the held-out
half is projected exactly as live embeddings are. Saved as ``reference.npz`` and
``reference.json`` (split, sizes, class names) under the run's ``monitoring/``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from artclf.models.module import ClassificationModule
from artclf.monitoring.embedding import recorded, scored
from artclf.tracking.queries import Client, copy_artifact

PCA_COMPONENTS = 16
ARTIFACT_DIR = "monitoring"
ARRAYS, SUMMARY = "reference.npz", "reference.json"
SEED = 0
#: Two per half: the PCA of one half needs two points, the other half's nearest neighbours too.
MIN_IMAGES = 4
#: Images scored per pass: one batch, so no progress line and bounded memory.
CHUNK = 64


@dataclass(frozen=True)
class Reference:
    split: str
    tasks: dict[str, list[str]]
    label_counts: dict[str, np.ndarray]
    predicted_counts: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    #: the features' width before recording (``embedding_dim`` of a serving record)
    embedding_dim: int
    pca_mean: np.ndarray
    pca_components: np.ndarray
    #: the reference images not used to fit the PCA, projected by it
    projected: np.ndarray

    @property
    def size(self) -> int:
        """Images the reference was computed on."""
        return int(next(iter(self.label_counts.values())).sum())

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        return (embeddings - self.pca_mean) @ self.pca_components.T

    def save(self, folder: Path) -> list[Path]:
        """``reference.npz`` and ``reference.json`` in ``folder``; their paths."""
        arrays = {"pca_mean": self.pca_mean, "pca_components": self.pca_components}
        arrays["projected"] = self.projected
        for task in self.tasks:
            arrays[f"{task}.label_counts"] = self.label_counts[task]
            arrays[f"{task}.predicted_counts"] = self.predicted_counts[task]
            arrays[f"{task}.confidence"] = self.confidence[task]
        np.savez_compressed(folder / ARRAYS, **arrays)
        summary = {
            "split": self.split,
            "size": self.size,
            "tasks": self.tasks,
            "embedding_dim": self.embedding_dim,
            "recorded_dims": int(self.pca_mean.shape[0]),
            "pca_components": int(self.pca_components.shape[0]),
            "projected": len(self.projected),
        }
        (folder / SUMMARY).write_text(json.dumps(summary, indent=2))
        return [folder / ARRAYS, folder / SUMMARY]

    @classmethod
    def load(cls, folder: Path) -> Reference:
        summary = json.loads((folder / SUMMARY).read_text())
        with np.load(folder / ARRAYS) as arrays:
            per_task = {
                kind: {task: arrays[f"{task}.{kind}"] for task in summary["tasks"]}
                for kind in ("label_counts", "predicted_counts", "confidence")
            }
            return cls(
                split=summary["split"],
                tasks=summary["tasks"],
                embedding_dim=int(summary["embedding_dim"]),
                pca_mean=arrays["pca_mean"],
                pca_components=arrays["pca_components"],
                projected=arrays["projected"],
                **per_task,
            )


def fit_pca(points: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the top ``components`` principal directions (rows) of ``points``."""
    mean = points.mean(0)
    _, _, directions = np.linalg.svd(points - mean, full_matrices=False)
    return mean, directions[:components]


def check_size(count: int, split: str) -> int:
    """``count``, when enough for a reference."""
    if count < MIN_IMAGES:
        raise ValueError(
            f"the {split} split has {count} images; monitoring's reference needs {MIN_IMAGES}"
        )
    return count


def build_reference(
    split: str,
    tasks: dict[str, list[str]],
    targets: np.ndarray,
    probabilities: dict[str, np.ndarray],
    embeddings: np.ndarray,
    embedding_dim: int,
) -> Reference:
    """The reference of held-out images: ``targets`` ``(N, tasks)`` true classes,
    ``probabilities`` per task ``(N, classes)``, ``embeddings`` as recorded ``(N, dims)``."""
    count = check_size(len(embeddings), split)
    order = np.random.default_rng(SEED).permutation(count)
    fitting, held = order[: count // 2], order[count // 2 :]
    mean, components = fit_pca(embeddings[fitting], min(PCA_COMPONENTS, len(fitting) - 1))
    classes = {task: len(names) for task, names in tasks.items()}
    return Reference(
        split=split,
        tasks=tasks,
        label_counts={
            task: np.bincount(targets[:, i], minlength=n)
            for i, (task, n) in enumerate(classes.items())
        },
        predicted_counts={
            task: np.bincount(probabilities[task].argmax(1), minlength=n)
            for task, n in classes.items()
        },
        confidence={task: probabilities[task].max(1) for task in tasks},
        embedding_dim=embedding_dim,
        pca_mean=mean,
        pca_components=components,
        projected=(embeddings[held] - mean) @ components.T,
    )


def reference_of(module: ClassificationModule, dataset, split: str) -> Reference:
    """The reference of ``module`` on ``dataset`` (an ``ImageDataset`` of held-out images:
    uint8 CHW ``image(i)``, ``targets``), scored as serving scores requests."""
    check_size(len(dataset), split)
    was_training = module.training
    module.eval()
    parts: list[tuple[dict[str, torch.Tensor], torch.Tensor]] = []
    try:
        for start in range(0, len(dataset), CHUNK):
            indices = range(start, min(start + CHUNK, len(dataset)))
            images = np.stack([dataset.image(i) for i in indices]).transpose(0, 2, 3, 1)
            parts.append(scored(module, np.ascontiguousarray(images)))
    finally:
        module.train(was_training)
    features = torch.cat([f for _, f in parts])
    probabilities = {t: torch.cat([p[t] for p, _ in parts]).numpy() for t in module.tasks}
    embeddings = recorded(features).numpy().astype(np.float64)
    targets = np.asarray(dataset.targets, dtype=np.int64)
    return build_reference(
        split, module.tasks, targets, probabilities, embeddings, features.shape[1]
    )


def stored_reference(client: Client, run_id: str, folder: Path) -> Reference | None:
    """The reference a training run logged, copied into ``folder``; None when the run has
    none (trained before references were logged, or without a test)."""
    copied = [
        copy_artifact(client, run_id, f"{ARTIFACT_DIR}/{name}", folder / name)
        for name in (ARRAYS, SUMMARY)
    ]
    return Reference.load(folder) if all(copied) else None
