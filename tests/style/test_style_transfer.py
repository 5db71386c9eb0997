"""Gatys style transfer: feature taps, losses, colour preservation, the engine on a real photo,
the `stylize` entry point and a Hydra multirun that becomes MLflow child runs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.style import StyleTransferError, TransferSettings, build_feature_taps, transfer
from artclf.style.colour import preserve_colour, rgb_to_ycbcr
from artclf.style.image_io import expand_sources, read_image_tensor
from artclf.style.losses import gram_matrix
from artclf.style.metrics import ssim

EXPECTED_TAPS = {
    "vgg19": [
        "features.17",
        "features.1",
        "features.8",
        "features.15",
        "features.26",
        "features.31",
    ],
    "resnet50": ["layer2", "relu", "layer1", "layer3", "layer4"],
    "efficientnet_lite0": ["blocks.2", "bn1", "blocks.1", "blocks.4", "blocks.5"],
}


@pytest.fixture(scope="module")
def lite0_taps():
    return build_feature_taps("efficientnet_lite0")


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    pytest.importorskip("skimage")
    return read_image_tensor("skimage:astronaut", 64)


def _stripes(size: int = 64) -> torch.Tensor:
    """A painting-like style: saturated diagonal stripes of three colours."""
    yy, xx = np.mgrid[:size, :size]
    band = ((xx + yy) // 5) % 3
    palette = np.array([[0.9, 0.2, 0.1], [0.1, 0.3, 0.9], [0.95, 0.85, 0.2]])
    return torch.from_numpy(palette[band]).float().permute(2, 0, 1)[None].contiguous()


@pytest.mark.parametrize("backbone", list(EXPECTED_TAPS))
def test_taps_return_the_named_layers_frozen_and_safe(backbone: str) -> None:
    taps = build_feature_taps(backbone, pretrained=backbone == "efficientnet_lite0")
    taps.train()
    assert not taps.training
    assert not any(p.requires_grad for p in taps.parameters())
    assert not any(getattr(m, "inplace", False) for m in taps.modules())
    features = taps(torch.rand(1, 3, 64, 64))
    assert sorted(features) == sorted(EXPECTED_TAPS[backbone])


def test_custom_layers_and_bad_names_are_clear() -> None:
    taps = build_feature_taps("efficientnet_lite0", ["blocks.3"], ["blocks.0"], pretrained=False)
    assert sorted(taps(torch.rand(1, 3, 32, 32))) == ["blocks.0", "blocks.3"]
    with pytest.raises(StyleTransferError, match=r"'blocks\.99' is not present") as err:
        build_feature_taps("efficientnet_lite0", style_layers=["blocks.99"], pretrained=False)
    assert "\n" not in str(err.value)
    with pytest.raises(StyleTransferError, match=r"unknown backbone 'vgg16'.*vgg19"):
        build_feature_taps("vgg16")


def test_gram_matrix_is_normalised_channel_correlation() -> None:
    features = torch.ones(1, 2, 3, 4)
    assert torch.allclose(gram_matrix(features), torch.full((1, 2, 2), 1 / 2))


def test_colour_preservation_keeps_content_chroma(astronaut: torch.Tensor) -> None:
    styled = torch.rand_like(astronaut) * 0.5 + 0.25  # mid-range: no clamping happens
    kept = preserve_colour(styled, astronaut * 0.5 + 0.25)
    assert torch.allclose(
        rgb_to_ycbcr(kept)[:, 1:], rgb_to_ycbcr(astronaut * 0.5 + 0.25)[:, 1:], atol=1e-4
    )
    assert torch.allclose(rgb_to_ycbcr(kept)[:, 0], rgb_to_ycbcr(styled)[:, 0], atol=1e-4)


def test_style_loss_falls_and_content_stays_recognisable(lite0_taps, astronaut) -> None:
    style = _stripes(64)
    settings = TransferSettings(steps=30, style_weight=1e3)
    result = transfer(lite0_taps, astronaut, style, settings)
    assert len(result.history) == 30
    start = result.history[0]["style"]
    assert result.style_loss < 0.5 * start
    # Recognisable: measured SSIM to the content is ~0.45 here; the stripe style alone scores
    # 0.01 and noise 0.001, so 0.3 fails exactly when the photo's structure is lost.
    assert ssim(style, astronaut) < 0.1
    assert ssim(result.image, astronaut) > 0.3
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_adam_from_noise_moves_towards_the_targets(lite0_taps, astronaut) -> None:
    settings = TransferSettings(steps=15, optimizer="adam", lr=0.05, init="noise")
    result = transfer(lite0_taps, astronaut, _stripes(64), settings)
    first, last = result.history[0], result.history[-1]
    assert last["total"] < first["total"]


def test_bad_inputs_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(StyleTransferError, match=r"content image '.*nope.jpg' does not exist"):
        expand_sources(str(tmp_path / "nope.jpg"), "content")
    with pytest.raises(StyleTransferError, match="unknown optimizer 'sgd'"):
        TransferSettings(optimizer="sgd")


def _write_images(folder: Path, n: int, seed: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8).repeat(5, 0).repeat(5, 1)
        Image.fromarray(pixels).save(folder / f"img{i}.png")
    return folder


def test_stylize_batch_writes_results_grids_and_metrics(
    make_cfg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from artclf.stylize import stylize

    contents = _write_images(tmp_path / "contents", 2, 0)
    style = _write_images(tmp_path / "styles", 1, 1) / "img0.png"
    cfg = make_cfg(
        f"content={contents}",
        f"style={style}",
        "size=32",
        "steps=3",
        "logger=none",
        config_name="stylize",
    )
    with caplog.at_level(logging.INFO):
        metrics = stylize(cfg)
    run_dir = Path(cfg.paths.run_dir)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("img0__img0:")]
    values = dict(pair.split("=") for pair in line.split(": ", 1)[1].split(", "))
    assert "style_loss" in values  # 4 significant digits, not a dict of 16-digit floats
    assert all(value == f"{float(value):.4g}" for value in values.values()), line
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stylize, ")]
    assert progress and progress[-1].startswith("stylize, step 2/2, ")  # two pairs
    for name in ("img0__img0", "img1__img0"):
        assert Image.open(run_dir / f"{name}.png").size == (32, 32)
        assert Image.open(run_dir / f"{name}_grid.png").size[0] > 3 * 32
    assert json.loads((run_dir / "metrics.json").read_text()) == pytest.approx(metrics)
    assert 0 < metrics["final/ssim"] <= 1


def sweep(
    tmp_path: Path, *overrides: str, entry: tuple[str, ...] = ("artclf.stylize", "-m")
) -> tuple[MlflowClient, list, list, str]:
    """``stylize -m`` (or ``entry``) on two tiny images into a fresh MLflow store: the client,
    the parent runs (of a sweep or a study), the child runs and the command's output."""
    content = _write_images(tmp_path / "c", 1, 0) / "img0.png"
    style = _write_images(tmp_path / "s", 1, 1) / "img0.png"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "ARTCLF_HOME": str(tmp_path)}
    command = [
        sys.executable, "-m", *entry, f"content={content}", f"style={style}",
        "size=32", "optimizer=adam", *overrides,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("artclf-stylize").experiment_id])
    parents = [r for r in runs if r.data.tags.get("artclf.role") in ("sweep", "study")]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children, done.stdout + done.stderr


@pytest.mark.slow  # subprocesses of whole commands: end to end
def test_multirun_sweep_makes_child_runs(tmp_path: Path) -> None:
    client, parents, children, output = sweep(tmp_path, "steps=3", "style_weight=10,1000")
    assert len(parents) == 1 and len(children) == 2
    parent_id = parents[0].info.run_id
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent_id}
    assert sorted(r.info.run_name for r in children) == ["style_weight=10", "style_weight=1000"]
    # one labelled grid of every setting x pair, and the leaderboard, on the parent run
    parent_files = {f.path for f in client.list_artifacts(parent_id)}
    parent_files |= {f.path for f in client.list_artifacts(parent_id, "leaderboard")}
    assert {"sweep_grid.png", "leaderboard/leaderboard.csv", "leaderboard/leaderboard.md"} <= (
        parent_files
    )
    assert "img0__img0, step 3/3, style " in output  # the optimisation logs its progress
    assert sorted(float(r.data.params["style_weight"]) for r in children) == [10.0, 1000.0]
    for child in children:
        history = client.get_metric_history(child.info.run_id, "loss/style")
        assert [m.step for m in history] == [0, 1, 2]
        assert 0 < child.data.metrics["final/ssim"] <= 1
        images = [a.path for a in client.list_artifacts(child.info.run_id, "images")]
        assert "images/img0__img0_grid.png" in images


@pytest.mark.slow  # subprocesses of whole commands: end to end
def test_random_search_samples_the_weights_as_child_runs(tmp_path: Path) -> None:
    _, parents, children, output = sweep(
        tmp_path, "search=stylize_random", "n_trials=3", "steps=2", entry=("artclf.tune",)
    )
    assert "study stylize_random: 3 complete" in output and len(parents) == 1
    weights = {float(r.data.params["style_weight"]) for r in children}
    assert len(children) == 3 and len(weights) == 3  # drawn, not a grid
    assert all(1 <= w <= 1e4 for w in weights)


def test_lpips_never_downloads_and_says_so_once_at_debug_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Most machines lack the AlexNet file: a warning in every stylize run was noise."""
    import urllib.request

    from artclf.style import metrics

    def no_network(*args, **kwargs):
        raise AssertionError("stylize tried the network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    metrics._lpips_model.cache_clear()
    image = torch.rand(1, 3, 32, 32)
    try:
        with caplog.at_level(logging.DEBUG, logger=metrics.__name__):
            assert metrics.lpips(image, image) is None and metrics.lpips(image, image) is None
    finally:
        metrics._lpips_model.cache_clear()
    skipped = [r for r in caplog.records if "LPIPS skipped" in r.getMessage()]
    assert len(skipped) == 1 and str(tmp_path / "empty-torch-home") in skipped[0].getMessage()
    assert skipped[0].levelno == logging.DEBUG  # not shown at a command's INFO level


def test_cli_reports_a_missing_image_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ARTCLF_HOME": str(tmp_path)}
    command = [
        sys.executable,
        "-m",
        "artclf.stylize",
        "content=/nope.jpg",
        "style=/nope.jpg",
        "logger=none",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: content image '/nope.jpg'")
    assert "Traceback" not in done.stderr
