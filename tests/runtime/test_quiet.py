"""Output a user reads: known-irrelevant warnings and lines are filtered in one place
(``artclf.runtime.quiet``), everything else still shows; ``make install`` keeps pip's errors
only."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from lightning.pytorch.utilities.rank_zero import rank_zero_info

from artclf.runtime.quiet import LIGHTNING_LOGGER, MLFLOW_LOGGER, quiet_known_noise

ROOT = Path(__file__).resolve().parents[2]


def test_known_noise_is_filtered_and_the_rest_shows(caplog: pytest.LogCaptureFixture) -> None:
    from optuna._experimental import warn_experimental_argument
    from torch.utils._pytree import LeafSpec

    loggers = [logging.getLogger(name) for name in (LIGHTNING_LOGGER, MLFLOW_LOGGER)]
    filters = [list(logger.filters) for logger in loggers]
    mlflow_log = logging.getLogger(MLFLOW_LOGGER)
    try:
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO):
            warnings.simplefilter("always")
            quiet_known_noise()
            LeafSpec()  # what Lightning's _pytree does on every batch
            warn_experimental_argument("heartbeat_interval")  # what artclf.tune's storage does
            warnings.warn("a warning of our own", UserWarning, stacklevel=1)
            rank_zero_info("💡 Tip: For seamless cloud logging, try installing litlogger")
            rank_zero_info("GPU available: False, used: False")
            rank_zero_info("Trainer already configured with model summary callbacks: [...]")
            rank_zero_info("`Trainer.fit` stopped: `max_epochs=1` reached.")
            mlflow_log.info("Validating input example against model signature")  # every model
            mlflow_log.warning("Failed to validate the input example")
    finally:
        for logger, kept in zip(loggers, filters, strict=True):
            logger.filters[:] = kept
    assert [str(w.message) for w in caught] == ["a warning of our own"]
    assert [r.getMessage() for r in caplog.records if r.name == LIGHTNING_LOGGER] == [
        "`Trainer.fit` stopped: `max_epochs=1` reached."
    ]
    assert [r.getMessage() for r in caplog.records if r.name == MLFLOW_LOGGER] == [
        "Failed to validate the input example"
    ]


def test_make_install_shows_pips_errors_but_not_its_per_package_warnings(tmp_path: Path) -> None:
    """pip warns once per package about an index location without it (a machine's config);
    the Makefile's pip flags must drop those and keep errors."""
    recipe = subprocess.run(
        ["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    (line,) = [line for line in recipe.splitlines() if " pip install " in line]
    flags = [f for f in shlex.split(line) if f.startswith("-q") or f == "--quiet"]
    assert flags, line
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    env.pop("PIP_FIND_LINKS", None)
    index = (tmp_path / "no-index").as_uri()  # a location without the package: pip warns
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", *flags, "--dry-run", "--no-deps",
         "--ignore-installed", "--index-url", index, "rich"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0 and "ERROR" in out.stderr  # errors still show
    assert "is ignored" not in out.stderr, out.stderr
