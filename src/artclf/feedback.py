"""``python -m artclf.feedback export [model=<registered name>] [since=<ISO time>] [out=DIR]``:
the labels people gave on served images (``POST /feedback``) become a training folder
(``artclf.serving.feedback_export``) that ``data=feedback`` or ``data.feedback=[DIR]`` adds to
the training split. Options in ``conf/feedback.yaml``."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit

ACTIONS = ("export",)


def options(argv: list[str]) -> list[str]:
    """``export`` as ``action=export``, ``model=NAME`` as ``model_name=NAME`` (Hydra reads a
    bare ``model=`` as the network's config group, which this command has none of)."""
    return [
        f"action={a}" if a in ACTIONS else
        f"model_name={a.removeprefix('model=')}" if a.startswith("model=") else a
        for a in argv
    ]  # fmt: skip


def run(cfg: DictConfig) -> None:
    from artclf.serving.feedback_export import export

    if cfg.action not in ACTIONS:
        raise ValueError(f"action={cfg.action}; valid: {', '.join(ACTIONS)}")
    print(export(cfg).summary())


@hydra.main(version_base="1.3", config_path="conf", config_name="feedback")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    sys.argv[1:] = options(sys.argv[1:])
    main()
