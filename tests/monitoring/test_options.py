"""The command's options: a bad window is one line naming the fix before the store is read,
and ``model=`` reaches the config as ``model_name=``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from artclf.monitor import model_option
from artclf.monitoring.run import monitor
from conftest import compose_cfg


def unread(*_: object) -> None:
    raise AssertionError("the store was read before the options were checked")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("since=yesterday", "since='yesterday'; an ISO time, e.g. since=2026-01-31T12:00"),
        ("version=3", "version= needs model=<registered name>"),
        ("last=0", "last=0; the number of latest predictions per version, 1 or more"),
        ("segments=0", "segments=0; must be at least 1"),
        ("+thresholds.mmd=0.1", "thresholds.mmd: no such figure; valid: mmd_p"),
        ("logger=none", "logger=none leaves no store to read the records from"),
    ],
)
def test_a_bad_option_is_one_line_before_the_store_is_read(
    tmp_path: Path, override: str, message: str
) -> None:
    cfg = compose_cfg("monitor", tmp_path, override)
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        monitor(cfg, unread)
    assert "\n" not in str(error.value)


def test_model_is_the_registered_name() -> None:
    assert model_option(["model=tiny", "last=5", "model_name=x"]) == [
        "model_name=tiny",
        "last=5",
        "model_name=x",
    ]
