"""Preemption: SIGTERM (what SLURM and Kubernetes send before they kill) saves a resumable
checkpoint at once and ends the run KILLED with the reason and a non-zero exit code.

Lightning notes the signal and raises ``SIGTERMException`` after the batch it is in; that is
a ``SystemExit`` whose code is 0, so the process used to exit as if it had finished, with
the work since the last epoch lost. ``SaveOnSigterm`` writes ``last.ckpt`` (the epoch part
done, the random state, the training order: ``ArtDataModule.state_dict``) from the
exception hook, and ``stopped_by_sigterm`` turns the exception into ``tracking.Interrupted``
(exit 143, 128 + SIGTERM), which the run records as KILLED."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from artclf.tracking.lifecycle import Interrupted

log = logging.getLogger("artclf.train")


class SaveOnSigterm(Callback):
    """Writes ``<checkpoint folder>/last.ckpt`` when training is stopped by SIGTERM."""

    def __init__(self, checkpoint_dir: Path) -> None:
        self.path = Path(checkpoint_dir) / "last.ckpt"
        self.saved: Path | None = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException):
            return
        trainer.save_checkpoint(self.path)
        self.saved = self.path
        log.warning(
            "SIGTERM: saved a resumable checkpoint at epoch %d, step %d: %s",
            trainer.current_epoch,
            trainer.global_step,
            self.path,
        )


def stopped_by_sigterm(saver: SaveOnSigterm) -> Interrupted:
    """What a SIGTERM during fit or test ends the process with."""
    resume = f"resume with ckpt_path={saver.saved}" if saver.saved else "no checkpoint was saved"
    return Interrupted(f"stopped by SIGTERM (preempted); {resume}", code=143)
