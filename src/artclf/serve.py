"""``python -m artclf.serve model=models:/<name>@champion [host=127.0.0.1 port=8000]
[serve.challenger=models:/<name>@challenger serve.split=0.1 serve.shadow=true]``: serve a
registered classifier (``POST /predict``) or an AdaIN or CycleGAN (``POST /stylize``) over HTTP
until Ctrl-C (``artclf.serving``; options in ``conf/serve.yaml``)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit
from artclf.serving.server import serve


def model_option(argv: list[str]) -> list[str]:
    """``model=URI`` as ``serve.model=URI``: Hydra reads a bare ``model=`` as the network's
    config group, which serving has none of."""
    return [f"serve.{a}" if a.startswith("model=") else a for a in argv]


@hydra.main(version_base="1.3", config_path="conf", config_name="serve")
def main(cfg: DictConfig) -> None:
    run_or_exit(serve, cfg)


if __name__ == "__main__":
    sys.argv[1:] = model_option(sys.argv[1:])
    main()
