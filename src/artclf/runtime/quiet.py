"""The one place that silences messages known to be irrelevant to an artclf user, so a run's
output is its progress, its metrics and where the results are.

Each entry is a message the user can do nothing about: an advert, a deprecation inside a
dependency, a line that restates the obvious on a CPU machine. Anything else still shows.
"""

from __future__ import annotations

import logging
import os
import warnings

#: Python warnings raised inside dependencies, by message (regular expressions).
WARNINGS = (
    # torch deprecates LeafSpec; Lightning's own _pytree still builds one on every batch
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # Optuna calls the heartbeat experimental; artclf.tune relies on it to find dead trials
    r"Argument ``heartbeat_interval`` is an experimental feature",
    # model.freeze_mode=inference/cached keeps the frozen layers in eval mode on purpose
    r"Found \d+ module\(s\) in eval mode at the start of training",
)
#: Lightning info lines, by how they start.
LIGHTNING_INFO = (
    "💡 Tip:",  # an advert for a cloud logging service
    "GPU available: False",  # no GPU: nothing to choose
    "TPU available:",
    "HPU available:",
    # trainer.test(ckpt_path=best) restating which checkpoint it tests; the run folder says
    "Restoring states from the checkpoint path",
    "Loaded model weights from the checkpoint",
    # our callbacks hold the model summary (artclf.runtime.progress.ParamsSummary)
    "Trainer already configured with model summary callbacks",
)
LIGHTNING_LOGGER = "lightning.pytorch.utilities.rank_zero"
#: MLflow info lines, by how they start: a check it runs on every logged model, all is well.
MLFLOW_INFO = ("Validating input example against model signature",)
MLFLOW_LOGGER = "mlflow.pyfunc"
#: Each logger's lines to drop, by how they start.
NOISE = {LIGHTNING_LOGGER: LIGHTNING_INFO, MLFLOW_LOGGER: MLFLOW_INFO}


class _KnownNoise(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).lstrip().startswith(self.prefixes)


def quiet_known_noise() -> None:
    """Install the filters (idempotent): warnings by message, Lightning's and MLflow's lines
    by prefix."""
    # MLflow's bar for each (small) checkpoint download; a failed one left it above the error
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for message in WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for name, prefixes in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _KnownNoise) for f in logger.filters):
            logger.addFilter(_KnownNoise(prefixes))
