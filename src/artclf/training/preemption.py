"""Stops from outside: SIGTERM (what SLURM and Kubernetes send before they kill), or the
tracking server down longer than ``logger.outage_budget_s``. Either saves a resumable
checkpoint at once and ends the run with the reason and a non-zero exit code.

Lightning notes the signal and raises ``SIGTERMException`` after the batch it is in; that is
a ``SystemExit`` whose code is 0, so the process used to exit as if it had finished, with
the work since the last epoch lost. ``SaveOnStop`` writes ``last.ckpt`` (the epoch part
done, the random state, the training order: ``ArtDataModule.state_dict``) from the
exception hook, and ``stopped`` turns the exception into ``tracking.Interrupted`` (exit 143,
128 + SIGTERM), which the run records as KILLED.

An outage past the budget stops training at the very point SIGTERM does (Lightning's flag,
set after a batch, so every process of a multi-device run stops together and the checkpoint
resumes exactly); it ends in one ``error:`` line naming the checkpoint. Every checkpoint
carries the run's writes the server has not taken yet; resumed into the same MLflow run,
they are delivered first, so nothing logged before the stop is lost."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from artclf.tracking.lifecycle import Interrupted
from artclf.tracking.outbox import Outbox, TrackingUnreachable, outbox_of

log = logging.getLogger("artclf.train")


class SaveOnStop(Callback):
    """Writes ``<checkpoint folder>/last.ckpt`` when training is stopped by SIGTERM or by
    ``outbox``'s server being down past its budget."""

    def __init__(self, checkpoint_dir: Path, run_id: str | None = None) -> None:
        self.path = Path(checkpoint_dir) / "last.ckpt"
        self.saved: Path | None = None
        self.run_id = run_id  # the outbox is looked up, not held: DDP spawn pickles callbacks
        self.outage: TrackingUnreachable | None = None

    @property
    def outbox(self) -> Outbox | None:
        """The run's open outbox in this process (None in a spawned DDP worker)."""
        return outbox_of(self.run_id)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx) -> None:
        outbox = self.outbox
        if outbox is None or self.outage is not None:
            return
        if batch_idx + 1 >= trainer.num_training_batches:
            return  # validation comes next, and a stop inside it resumes inexactly: wait a batch
        try:
            outbox.check()
        except TrackingUnreachable as error:
            self.outage = error
            # what Lightning's SIGTERM handler sets: the loop raises after this batch
            trainer._signal_connector.received_sigterm = True

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException):
            self._save(trainer)

    def wait_for_tracking(self, trainer: L.Trainer) -> None:
        """After fit: the writes reach the server before testing and publishing, which need
        it; a server down past the budget saves ``last.ckpt`` and raises."""
        outbox = self.outbox
        if outbox is None:
            return
        try:
            outbox.flush()
        except TrackingUnreachable as error:
            self.outage = error
            self._save(trainer)
            raise

    def _save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.path)
        self.saved = self.path
        log.warning(
            "%s: saved a resumable checkpoint at epoch %d, step %d: %s",
            "tracking server unreachable" if self.outage else "SIGTERM",
            trainer.current_epoch,
            trainer.global_step,
            self.path,
        )

    def stopped(self, trainer: L.Trainer) -> BaseException:
        """What a stop during fit ends the process with."""
        resume = f"resume with ckpt_path={self.saved}" if self.saved else "no checkpoint was saved"
        if self.outage is None:
            return Interrupted(f"stopped by SIGTERM (preempted); {resume}", code=143)
        where = f"training stopped at epoch {trainer.current_epoch}; {resume}"
        outage = self.outage
        return TrackingUnreachable(outage.uri, outage.seconds, outage.budget_s, where)

    def state_dict(self) -> dict[str, Any]:
        outbox = self.outbox
        if outbox is None:
            return {}
        return {"run_id": outbox.run_id, "undelivered": outbox.pending()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        undelivered = state_dict.get("undelivered") or []
        outbox = self.outbox
        if outbox is not None and state_dict.get("run_id") == outbox.run_id:
            outbox.requeue(undelivered)
        elif undelivered:
            log.warning(
                "the checkpoint carries %d writes to run %s, which this run does not continue; "
                "they are not delivered",
                len(undelivered),
                state_dict.get("run_id"),
            )
