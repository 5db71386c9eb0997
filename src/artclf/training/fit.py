"""What ``python -m artclf.train`` runs: build the task, fit it, test the best checkpoint and
publish the run; return the optimised metric (Optuna and tests call ``train`` directly)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, ProgressBar
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from artclf.publishing.publish import log_best_checkpoint
from artclf.runtime.config import to_plain
from artclf.runtime.distributed import one_device_tester
from artclf.tracking import start_run
from artclf.tracking.datasets import log_data_inputs
from artclf.tracking.derived import checkpoint_entries
from artclf.tracking.logger import lightning_logger
from artclf.tracking.outbox import TrackingUnreachable, outbox_of
from artclf.training.callbacks import run_callbacks
from artclf.training.preemption import SaveOnStop
from artclf.training.report_callbacks import RunReport
from artclf.training.resume import requeued_checkpoint, with_checkpoint
from artclf.training.tasks import task_of
from artclf.training.validation import validate_train
from artclf.weights import checkpoints

log = logging.getLogger("artclf.train")


def train(cfg: DictConfig, extra_callbacks: Sequence[Callback] = ()) -> float:
    """Fit, test the best checkpoint, log reports and the checkpoint; return the optimised
    metric. ``extra_callbacks`` join the configured ones (``artclf.tune``'s pruning)."""
    task = task_of(cfg)
    run_dir = Path(cfg.paths.run_dir)
    own_checkpoints = run_dir / "checkpoints"
    requeued = requeued_checkpoint(cfg, own_checkpoints)
    if requeued is not None:  # a requeued SLURM job: its run goes on, in its folders
        cfg = with_checkpoint(cfg, requeued)
    cfg = task.resume_config(cfg)  # resuming a classifier: the checkpoint's model and data
    validate_train(cfg)
    task.validate(cfg)
    resume = checkpoints.Resume(cfg.get("ckpt_path"))
    resume.check_max_epochs(cfg.trainer.get("max_epochs"))
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    with start_run(cfg, resume.run_id, naming_groups=task.naming_groups) as run:
        built = task.build(cfg)
        module, datamodule, task_callbacks = built
        if run is not None and hasattr(datamodule, "fingerprint"):  # classification data
            log_data_inputs(cfg, datamodule)
        checkpoint_dir = own_checkpoints if requeued else resume.checkpoint_dir or own_checkpoints
        callbacks, checkpoint = run_callbacks(cfg, checkpoint_dir)
        preemption = SaveOnStop(checkpoint_dir, run.info.run_id if run else None)
        callbacks += [*task_callbacks, *extra_callbacks, preemption]
        trainer = L.Trainer(
            **to_plain(cfg.trainer),
            callbacks=callbacks,
            logger=lightning_logger(cfg, run, run_dir),
            default_root_dir=run_dir,
            enable_progress_bar=any(isinstance(c, ProgressBar) for c in callbacks),
            plugins=[checkpoints.AtomicCheckpointIO(checkpoint_entries(run))],
        )
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=resume.path, weights_only=True)
            preemption.wait_for_tracking(trainer)
        except (SIGTERMException, TrackingUnreachable):
            raise preemption.stopped(trainer) from None
        best = checkpoint.best_model_score
        score = (
            float(best)
            if best is not None
            else float(trainer.callback_metrics[cfg.optimized.metric])
        )
        if cfg.get("test") and getattr(datamodule, "has_test", True) and trainer.is_global_zero:
            ckpt = checkpoint.best_model_path or None
            reports = [c for c in callbacks if isinstance(c, RunReport)]
            tester = one_device_tester(trainer, cfg.trainer, reports)
            tester.test(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
        if run is not None:
            outbox_of(run.info.run_id).flush()  # publishing reads the test metrics back
            best_path = checkpoint.best_model_path
            task.publish(cfg, run.info.run_id, trainer, built, best_path, task.registered_name(cfg))
            log_best_checkpoint(cfg, best_path)
        log.info("%s = %.4f; run folder %s", cfg.optimized.metric, score, run_dir)
        return score
