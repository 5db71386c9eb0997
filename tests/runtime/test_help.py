"""``--help`` of each command lists the config groups that command uses, and only those."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from artclf.runtime.config import command_groups, groups_help


@pytest.mark.parametrize(
    ("command", "groups"),
    [
        ("describe", ["paths", "data"]),
        ("predict", ["paths"]),
        ("evaluate", ["paths", "logger", "data"]),
        ("explain", ["paths", "logger"]),
        ("stylize", ["paths", "backbone", "logger"]),
        (
            "train",
            ["paths", "data", "model", "aug", "optim", "scheduler", "trainer", "callbacks",
             "logger", "debug", "experiment"],
        ),
    ],
)  # fmt: skip
def test_each_command_has_its_own_groups(command: str, groups: list[str]) -> None:
    assert command_groups(command) == groups
    listed = [line.split(":")[0] for line in groups_help(command).splitlines()]
    assert listed == groups


@pytest.mark.parametrize(
    ("command", "shown", "hidden"),
    [("train", "optim: adam, adamw, sgd", "backbone:"), ("describe", "data: ", "optim:")],
)
def test_help_lists_only_the_commands_groups(command: str, shown: str, hidden: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"artclf.{command}", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    groups = out.stdout.split("== Config groups")[1].split("== Config (")[0]
    assert shown in groups and hidden not in groups
    assert out.stdout.startswith(f"python -m artclf.{command} [group=option ...]")
