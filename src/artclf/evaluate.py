"""``python -m artclf.evaluate ckpt_path=... [data=... data.root=...] [eval_split=test|val|all]``.

Scores a checkpoint with the metrics of training and writes a confusion-matrix PNG, a
per-class CSV and a grid of the most confident mistakes; all land in a new MLflow run tagged
with the training run (``artclf.source_run_id``).

Which data: without ``data=...`` the data config stored in the checkpoint is used, so
``eval_split=test`` re-creates exactly the test split of training (same reader, labels, seed).
With ``data=<preset> data.root=<folder>`` another copy or another dataset is read.
``eval_split=all`` scores every readable image under the root, whatever split it belongs to;
its classes are matched to the checkpoint's by name, and a class the checkpoint does not know
is an error (the model cannot predict it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from artclf.cli import run_or_exit
from artclf.data.images import find_unreadable
from artclf.data.resize import checkpoint_resize
from artclf.data.sources import get_scanner
from artclf.ensemble import checkpoint_list, ensemble_probabilities, load_ensemble
from artclf.inference import load_images
from artclf.models.metrics import classification_metrics
from artclf.models.module import ClassificationModule
from artclf.models.tta import check_tta
from artclf.reports import confusion_matrix_figure, image_grid_figure, per_class_report
from artclf.tracking.registry import resolve_ckpt_option

log = logging.getLogger(__name__)
SPLITS = ("test", "val", "all")


@dataclass
class Evaluation:
    """Metrics, and the confusion matrix and classes of every task (a single-task checkpoint
    has one, ``label``)."""

    metrics: dict[str, float]
    confusions: dict[str, np.ndarray]
    tasks: dict[str, list[str]]
    output_dir: Path
    #: evaluated images the checkpoint was trained (``train``) or selected (``val``) on
    seen: dict[str, int] = field(default_factory=dict)

    @property
    def confusion(self) -> np.ndarray:
        """The first task's confusion matrix."""
        return next(iter(self.confusions.values()))

    @property
    def classes(self) -> list[str]:
        """The first task's classes."""
        return next(iter(self.tasks.values()))


def data_config(cfg: DictConfig, module: ClassificationModule) -> dict[str, Any]:
    """The data config to read: ``cfg.data`` when given (its image size set to the model's),
    else the one the checkpoint was trained with."""
    if cfg.get("data") is None:
        stored = module.hparams.get("data")
        if not stored:
            raise ValueError(
                "this checkpoint stores no data config; pass data=<preset> data.root=..."
            )
        return dict(stored)
    with open_dict(cfg):
        cfg.model = {"image_size": int(module.hparams.model["image_size"])}
    return OmegaConf.to_container(cfg.data, resolve=True)  # type: ignore[return-value]


def label_columns(data: dict[str, Any]) -> list[str]:
    """The label column of each task, in the checkpoint's task order."""
    labels = data["labels"]
    return [str(labels)] if isinstance(labels, str) else [str(c) for c in labels]


def split_records(data: dict[str, Any], split: str, module: ClassificationModule) -> pd.DataFrame:
    """``path`` and, per task of the checkpoint, a column of its class indices."""
    columns = label_columns(data)
    if len(columns) != len(module.tasks):
        raise ValueError(
            f"data.labels={columns} gives {len(columns)} task(s); the checkpoint has "
            f"{len(module.tasks)} ({', '.join(module.tasks)})"
        )
    if split == "all":
        return _all_records(data, columns, module)
    from artclf.data.pipeline import prepare_records

    options = {
        k: data[k]
        for k in (
            "layout",
            "top_k",
            "min_count",
            "drop_unknown",
            "val_fraction",
            "test_fraction",
            "max_per_class",
            "seed",
            "cache_dir",
            "cv",
        )
        if k in data
    }
    prepared = prepare_records(data["source"], data["root"], labels=data["labels"], **options)
    found = prepared.tasks or {"label": prepared.classes}
    if list(found.values()) != list(module.tasks.values()):
        raise ValueError(
            f"the data's classes {list(found.values())} differ from the checkpoint's "
            f"{list(module.tasks.values())}; use eval_split=all to match classes by name"
        )
    table = prepared.split(split)
    targets = dict(zip(module.tasks, prepared.target_columns(), strict=True))
    return pd.DataFrame({"path": table["path"], **{t: table[c] for t, c in targets.items()}})


def _all_records(
    data: dict[str, Any], columns: list[str], module: ClassificationModule
) -> pd.DataFrame:
    """Every readable image under the root, its classes matched to the checkpoint's by name."""
    scan = get_scanner(data["source"])(
        data["root"], layout=data.get("layout", "auto"), cache_dir=data.get("cache_dir")
    )
    for column in columns:
        if column not in scan.label_columns:
            raise ValueError(
                f"unknown data.labels {column!r}; valid choices: {', '.join(scan.label_columns)}"
            )
    records = scan.records.dropna(subset=columns)
    bad = find_unreadable(records["path"].tolist(), cache_dir=data.get("cache_dir"))
    records = records[~records["path"].isin(bad.keys())]
    table = {"path": records["path"]}
    for column, (task, classes) in zip(columns, module.tasks.items(), strict=True):
        names = records[column].astype(str)
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise ValueError(
                f"{column} classes {unknown} under {data['root']} are not among the "
                f"checkpoint's classes {classes}; remove those images or evaluate a model "
                "trained on them"
            )
        table[task] = names.map({name: i for i, name in enumerate(classes)})
    return pd.DataFrame(table)


def _file_key(path: str | Path) -> tuple[str, int] | None:
    """Name and size: cheap, and the same image in another copy of the download matches."""
    try:
        return Path(path).name, Path(path).stat().st_size
    except OSError:
        return None


def _content(path: str | Path) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()


def seen_in_training(paths: list[str], module: ClassificationModule) -> dict[str, int]:
    """How many of ``paths`` are images of the checkpoint's train and val splits, rebuilt
    from the data config it stores (seeded, so exact); {} when that data is not on this
    machine. Files match by content; only those with a training file's name and size are read."""
    stored = module.hparams.get("data")
    if not stored or not Path(str(stored.get("root", ""))).exists():
        return {}
    by_key: dict[tuple[str, int], list[str]] = {}
    for path in paths:
        by_key.setdefault(_file_key(path), []).append(path)
    seen = {}
    for split in ("train", "val"):
        trained = split_records(dict(stored), split, module)["path"]
        candidates = [(p, by_key[k]) for p in trained if (k := _file_key(p)) in by_key]
        seen[split] = sum(_content(p) in {_content(e) for e in same} for p, same in candidates)
    return seen


def mistakes_figure(images, targets, probs, classes, count: int = 16):
    """The ``count`` wrong predictions made with the highest confidence."""
    confidence, predicted = probs.max(dim=1)
    wrong = np.flatnonzero(predicted.numpy() != targets)
    worst = wrong[np.argsort(-confidence.numpy()[wrong])][:count]
    if not len(worst):
        return None
    titles = [
        f"true {classes[targets[i]]}\npred {classes[predicted[i]]} {confidence[i]:.2f}"
        for i in worst
    ]
    return image_grid_figure(images[worst], titles, title="most confident mistakes")


def score_task(
    probs: torch.Tensor,
    targets: np.ndarray,
    classes: list[str],
    prefix: str,
    images: np.ndarray,
    out_dir: Path,
    suffix: str,
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics and confusion matrix of one task; its reports written to ``out_dir``."""
    collection = classification_metrics(len(classes), prefix)
    target_tensor = torch.tensor(targets, dtype=torch.long)
    metrics = {k: float(v) for k, v in collection(probs, target_tensor).items()}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (targets, probs.argmax(dim=1).numpy()), 1)
    title = f"{prefix.rstrip('/')}: {len(targets)} images"
    figure = confusion_matrix_figure(confusion, classes, title=title)
    figure.savefig(out_dir / f"confusion_matrix{suffix}.png", dpi=120)
    plt.close(figure)
    report = per_class_report(confusion, classes)
    report.to_csv(out_dir / f"per_class_report{suffix}.csv", index=False)
    figure = mistakes_figure(images, targets, probs, classes)
    if figure is not None:
        figure.savefig(out_dir / f"confident_mistakes{suffix}.png", dpi=110)
        plt.close(figure)
    return metrics, confusion


def evaluate(cfg: DictConfig) -> Evaluation:
    """Score the checkpoint on the chosen split, every task of it; write and log the reports.
    A multi-task checkpoint also gets ``<split>/acc``, the mean accuracy over its tasks (what
    its training monitored)."""
    if cfg.eval_split not in SPLITS:
        raise ValueError(f"eval_split={cfg.eval_split!r}; valid choices: {', '.join(SPLITS)}")
    resolve_ckpt_option(cfg)
    modules = load_ensemble(cfg.ckpt_path)
    module = modules[0]
    data = data_config(cfg, module)
    table = split_records(data, str(cfg.eval_split), module)
    if table.empty:
        raise ValueError(f"no images in split {cfg.eval_split!r} of {data['root']}")
    resize = checkpoint_resize(module.hparams.get("data"), data.get("resize"))
    size = int(module.hparams.model["image_size"])
    paths, images = load_images(table["path"].tolist(), size, resize)
    table = table.set_index("path").loc[[str(p) for p in paths]]
    probs = ensemble_probabilities(modules, images, int(cfg.batch_size), check_tta(cfg.tta))
    out_dir = Path(cfg.paths.run_dir) / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, float] = {}
    confusions = {}
    for task, classes in module.tasks.items():
        prefix = f"{cfg.eval_split}/{task}/" if module.multi_task else f"{cfg.eval_split}/"
        suffix = f"_{task}" if module.multi_task else ""
        targets = table[task].to_numpy()
        scores, confusions[task] = score_task(
            probs[task], targets, classes, prefix, images, out_dir, suffix
        )
        metrics.update(scores)
    if module.multi_task:
        accuracies = [metrics[f"{cfg.eval_split}/{task}/acc"] for task in module.tasks]
        metrics[f"{cfg.eval_split}/acc"] = float(np.mean(accuracies))
    metrics[f"{cfg.eval_split}/n_images"] = float(len(table))
    seen = seen_in_training(table.index.tolist(), module)
    if seen.get("train") or seen.get("val"):
        log.warning(
            "%d of %d evaluated images are training images of this checkpoint (and %d its "
            "validation images): these scores overstate accuracy on new images",
            seen["train"],
            len(table),
            seen["val"],
        )
    pd.Series(metrics).to_json(out_dir / "metrics.json", indent=2)
    log_evaluation(cfg, out_dir, metrics)
    for name, value in metrics.items():
        log.info("%s = %.4f", name, value)
    return Evaluation(metrics, confusions, module.tasks, out_dir, seen)


def log_evaluation(cfg: DictConfig, folder: Path, metrics: dict[str, float]) -> None:
    if not cfg.logger.enabled:
        return
    import mlflow

    from artclf.tracking.derived import derived_run
    from artclf.tracking.runs import log_metrics

    with derived_run(cfg, checkpoint_list(cfg.ckpt_path)[0]) as run:
        log_metrics(run.info.run_id, metrics)
        mlflow.log_artifacts(str(folder), artifact_path="reports", run_id=run.info.run_id)


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float:
    result = run_or_exit(evaluate, cfg)
    for report in sorted(result.output_dir.iterdir()):
        print(f"wrote {report}")
    return result.metrics[f"{cfg.eval_split}/acc"]


if __name__ == "__main__":
    main()
