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

import logging
from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig

from artclf.evaluation.overlap import seen_in_training, warn_if_seen
from artclf.evaluation.scoring import Evaluation, score_checkpoint
from artclf.evaluation.selection import SPLITS, evaluation_spec, scored_images
from artclf.inference.ensemble import checkpoint_list, ensemble_probabilities, load_ensemble
from artclf.inference.tta import check_tta
from artclf.runtime.cli import run_or_exit
from artclf.runtime.progress import shown_value
from artclf.tracking.derived import log_derived_results
from artclf.tracking.sources import resolve_ckpt_option

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> Evaluation:
    """Score the checkpoint (or the ensemble's averaged probabilities) on the chosen split,
    every task of it; write and log the reports."""
    if cfg.eval_split not in SPLITS:
        raise ValueError(f"eval_split={cfg.eval_split!r}; valid choices: {', '.join(SPLITS)}")
    resolve_ckpt_option(cfg)
    modules = load_ensemble(cfg.ckpt_path)
    module, split = modules[0], str(cfg.eval_split)
    stored = module.hparams.get("data")
    spec = evaluation_spec(cfg, stored)
    table, images = scored_images(spec, split, module)
    probs = ensemble_probabilities(modules, images, int(cfg.batch_size), check_tta(cfg.tta))
    out_dir = Path(cfg.paths.run_dir) / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = score_checkpoint(module.tasks, probs, table, images, split, out_dir)
    result.seen = seen_in_training(table.index.tolist(), stored)
    warn_if_seen(result.seen, len(table))
    pd.Series(result.metrics).to_json(out_dir / "metrics.json", indent=2)
    log_derived_results(cfg, checkpoint_list(cfg.ckpt_path)[0], result.metrics, out_dir)
    for name, value in result.metrics.items():
        log.info("%s = %s", name, shown_value(name, value))
    return result


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float:
    result = run_or_exit(evaluate, cfg)
    for report in sorted(result.output_dir.iterdir()):
        print(f"wrote {report}")
    return result.metrics[f"{cfg.eval_split}/acc"]


if __name__ == "__main__":
    main()
