"""Checkpoints that are safe to load and whole when found.

Every load is weights-only (a checkpoint from a URL included: Lightning would unpickle those
with arbitrary code), and a file that fails it is reported in one line. Writes go to a
temporary file beside the target and are renamed into place, so a kill leaves the previous
file, never half of one. ``last.ckpt`` is written after every epoch with the random-number
state, so a killed run resumes to the same result as one that was never stopped.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import random
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

#: Seconds a checkpoint download may stall before it is given up.
DOWNLOAD_TIMEOUT_S = 60


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


def is_url(source: str | Path) -> bool:
    return str(source).startswith(("http://", "https://"))


def fetch(source: str | Path, folder: Path | None = None) -> Path:
    """A local path for ``source``: http(s) URLs are downloaded once (into ``folder``, by
    default a folder under the system temp dir) and atomically, so a broken download is
    never mistaken for a checkpoint."""
    if not is_url(source):
        path = Path(source).expanduser()
        if path.is_dir():
            found = sorted(p.name for p in path.glob("*.ckpt"))[:3]
            inside = f" (it holds {', '.join(found)})" if found else ""
            raise IsADirectoryError(
                f"ckpt_path {str(path)!r} is a folder{inside}; pass the .ckpt file itself, "
                "e.g. .../checkpoints/last.ckpt"
            )
        if not path.is_file():
            raise FileNotFoundError(
                f"ckpt_path {str(path)!r} does not exist; pass a .ckpt that training wrote"
            )
        return path
    url = str(source)
    folder = folder or Path(tempfile.gettempdir()) / "artclf-downloads"
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.request.urlparse(url).path).name or "checkpoint.ckpt"
    target = folder / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"
    if target.is_file():
        return target
    try:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
            _atomic_file(target) as handle,
        ):
            shutil.copyfileobj(response, handle)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise CheckpointError(f"cannot download ckpt_path {url}: {error}") from None
    return target


@contextmanager
def checkpoint_errors(path: str | Path) -> Iterator[None]:
    """Turn the ways loading a bad file fails into one ``CheckpointError`` line."""
    try:
        yield
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unpicklable"
        raise CheckpointError(
            f"{path} is not a trusted artclf checkpoint: it holds objects that only code can "
            f"rebuild ({reason[:160]}); artclf loads weights only. Use a checkpoint artclf wrote."
        ) from None
    except (EOFError, zipfile.BadZipFile) as error:
        raise _corrupt(path, error) from None
    except RuntimeError as error:
        text = str(error)
        markers = ("zip archive", "PytorchStreamReader", "central directory", "hasRecord")
        if any(marker in text for marker in markers):
            raise _corrupt(path, error) from None
        raise


def _corrupt(path: str | Path, error: Exception) -> CheckpointError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return CheckpointError(
        f"{path} is truncated or corrupt ({first[:120]}); it was not written completely. "
        "Use another checkpoint (the epoch*.ckpt beside it, or the run's logged one)"
    )


def read(source: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, weights-only, on the CPU."""
    path = fetch(source)
    with checkpoint_errors(source):
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"{source} is not an artclf checkpoint (no state_dict in it)")
    return state


def require_finite(state_dict: dict[str, torch.Tensor], source: str | Path) -> None:
    """A model whose weights are NaN/inf predicts nothing; say so instead of printing NaN."""
    for name, value in state_dict.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(
                f"{source} has non-finite weights ({name}): its training diverged. "
                "Retrain with a lower optim.lr"
            )


def _remove_dead_pieces(target: Path) -> None:
    """Delete the pieces of earlier writes of ``target`` whose writer was killed."""
    for piece in target.parent.glob(f".{target.name}.*.tmp"):
        pid = piece.name.removeprefix(f".{target.name}.").split(".")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            piece.unlink(missing_ok=True)


@contextmanager
def _atomic_file(target: Path) -> Iterator[Any]:
    """A file object whose contents replace ``target`` only once complete: written beside
    it (same filesystem, so the rename is atomic), flushed to disk, then renamed. The
    writer's pid is in the temporary name, so a later write can remove a killed one's piece."""
    _remove_dead_pieces(target)
    prefix = f".{target.name}.{os.getpid()}."
    descriptor, temp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(descriptor, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if _out_of_space(error):
            raise OSError(
                errno.ENOSPC,
                f"no space left on the disk of {target.parent} while writing {target.name}; "
                "free space there, or point paths.output_dir at a disk with room",
            ) from None
        raise


def _out_of_space(error: BaseException) -> bool:
    """A full disk, as ``open``/``write`` say it (ENOSPC) or as torch's zip writer does (a
    RuntimeError from ``inline_container.cc``: "file write failed")."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, RuntimeError) and "write failed" in str(error)


#: The entry naming the MLflow run that wrote a checkpoint (None or absent: untracked).
RUN_ID_KEY = "mlflow_run_id"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, writing beside the target and renaming: a kill during
    the write leaves the previous checkpoint (or none), never a piece of one. ``entries``
    join every checkpoint it writes, weights-only ones too (``RUN_ID_KEY``: the run that
    wrote it, which evaluations cite and a resume continues)."""

    def __init__(self, entries: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.entries = dict(entries or {})

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        checkpoint.update(self.entries)
        if storage_options is not None or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_file(target) as handle:
            torch.save(checkpoint, handle)

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only=None):
        with checkpoint_errors(path):
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)


class RandomState(Callback):
    """Saves the Python, NumPy and torch (and CUDA) random states in every checkpoint and
    restores them on resume, so the resumed epochs draw the same shuffles, augmentations
    and dropout masks as an uninterrupted run. Stored as tensors and plain values, so the
    checkpoint still loads weights-only."""

    def state_dict(self) -> dict[str, Any]:
        name, keys, pos, has_gauss, cached = np.random.get_state()
        return {
            "python": random.getstate(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))
        name, keys, pos, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def last_checkpoint(dirpath: Path) -> ModelCheckpoint:
    """``last.ckpt``, rewritten after every epoch (Lightning's ``save_last`` follows the
    monitored checkpoint and so can lag behind by many epochs)."""
    return ModelCheckpoint(
        dirpath=dirpath,
        filename="last",
        monitor=None,
        save_top_k=1,
        enable_version_counter=False,
    )


class Resume:
    """Where a run resumes from: the local checkpoint, the MLflow run that wrote it (so the
    resumed run continues that run) and the folder to keep checkpointing into (the
    checkpoint's own, so the best-checkpoint bookkeeping carries on)."""

    def __init__(self, source: str | Path | None):
        self.path: Path | None = None
        self.run_id: str | None = None
        self.checkpoint_dir: Path | None = None
        self.epoch = 0
        if not source:
            return
        self.path = fetch(source)
        state = read(self.path)
        self.run_id, self.epoch = state.get(RUN_ID_KEY), int(state.get("epoch", 0))
        if not is_url(source):
            self.checkpoint_dir = self.path.resolve().parent

    def check_max_epochs(self, max_epochs: int | None) -> None:
        """Lightning refuses, with a traceback, to resume past ``trainer.max_epochs``."""
        if self.path is not None and max_epochs is not None and 0 < max_epochs < self.epoch:
            raise ValueError(
                f"{self.path.name} was saved at epoch {self.epoch}, past "
                f"trainer.max_epochs={max_epochs}; set trainer.max_epochs above {self.epoch} "
                "to train on from it"
            )
