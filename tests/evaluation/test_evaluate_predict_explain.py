"""evaluate, predict and explain on a tiny model trained once for this module, through their
functions and once each through the command line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.evaluate import evaluate
from artclf.explain import explain
from artclf.predict import predict
from conftest import compose_cfg, train_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """A one-epoch simple CNN on the tiny embedded dataset, tracked in MLflow."""
    home = tmp_path_factory.mktemp("trained")
    cfg, run = train_tiny(home, shared_cache, "trainer.max_epochs=1")
    client = MlflowClient(cfg.logger.tracking_uri)
    ckpt = next(p for p in (home / "train" / "checkpoints").glob("epoch*.ckpt"))
    return {
        "home": home,
        "ckpt": ckpt,
        "run_id": run.info.run_id,
        "client": client,
        "data_root": Path(cfg.data.root),
        "cache": shared_cache,
    }


def artifacts(client: MlflowClient, run_id: str, folder: str) -> dict[str, int]:
    return {Path(a.path).name: a.file_size for a in client.list_artifacts(run_id, folder)}


def some_images(trained: dict, count: int = 3) -> list[Path]:
    return (
        sorted((trained["data_root"] / "test").rglob("*.png"))[:count]
        or sorted((trained["data_root"] / "test").rglob("*.jpg"))[:count]
    )


def test_training_logs_gradcam_grid_and_reports(trained: dict) -> None:
    logged = artifacts(trained["client"], trained["run_id"], "reports")
    assert {"gradcam_grid.png", "confusion_matrix.png", "per_class_report.csv"} <= logged.keys()
    assert logged["gradcam_grid.png"] > 10_000


def test_evaluate_rebuilds_the_training_test_split(
    trained: dict, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = compose_cfg("evaluate", trained["home"], f"ckpt_path={trained['ckpt']}")
    with caplog.at_level(logging.INFO, logger="artclf.evaluate"):
        result = evaluate(cfg)
    assert result.metrics["test/n_images"] == 2 * 30  # 2 test images in each of 30 folders
    shown = [r.getMessage() for r in caplog.records if r.name == "artclf.evaluate"]
    assert "test/n_images = 60" in shown  # a count, not 60.0000
    assert 0 <= result.metrics["test/acc"] <= 1
    assert list(result.tasks) == ["origin_style"] and len(result.tasks["origin_style"]) == 20
    assert result.confusions["origin_style"].sum() == 60
    assert result.seen == {"train": 0, "val": 0}  # the test split: no training image
    client = trained["client"]
    (run,) = client.search_runs(
        [client.get_experiment_by_name("artclf-evaluate").experiment_id],
        f"tags.`artclf.source_run_id` = '{trained['run_id']}'",
    )
    logged = artifacts(client, run.info.run_id, "reports")
    assert {
        "confusion_matrix.png",
        "per_class_report.csv",
        "confident_mistakes.png",
    } <= logged.keys()
    assert run.data.metrics["test/acc"] == pytest.approx(result.metrics["test/acc"])
    report = (result.output_dir / "per_class_report.csv").read_text().splitlines()
    assert len(report) == 21 and report[0] == "class,precision,recall,f1,support"


def test_evaluate_all_scores_every_image_and_rejects_unknown_classes(
    trained: dict, caplog: pytest.LogCaptureFixture
) -> None:
    data = (
        "data=ai_artbench",
        f"data.root={trained['data_root']}",
        f"paths.cache_dir={trained['cache']}",
    )
    cfg = compose_cfg(
        "evaluate",
        trained["home"],
        f"ckpt_path={trained['ckpt']}",
        "eval_split=all",
        "logger=none",
        *data,
    )
    result = evaluate(cfg)
    assert result.metrics["all/n_images"] == 30 * (6 + 2)
    # every training image is among them: one warning line with the counts
    assert result.seen == {"train": 160, "val": 20}
    (warning,) = [r.getMessage() for r in caplog.records if "training images" in r.getMessage()]
    assert warning.startswith("160 of 240 evaluated images are training images")
    wrong = compose_cfg(
        "evaluate",
        trained["home"],
        f"ckpt_path={trained['ckpt']}",
        "eval_split=all",
        "logger=none",
        *data,
        "data.labels=generator_style",
    )
    with pytest.raises(ValueError, match="not among the checkpoint's classes"):
        evaluate(wrong)


def test_predict_gives_ranked_top_k_per_image(trained: dict) -> None:
    images = some_images(trained)
    folder = images[0].parent
    cfg = compose_cfg(
        "predict", trained["home"], f"ckpt_path={trained['ckpt']}", f"input={folder}", "top_k=3"
    )
    results = predict(cfg)
    assert len(results) == len(list(folder.iterdir()))
    for result in results:
        assert list(result["predictions"]) == ["origin_style"]  # the data's label column
        ranked = result["predictions"]["origin_style"]
        probs = [r["probability"] for r in ranked]
        assert len(ranked) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.0001
        assert ranked[0]["label"].startswith(("AI_", "human_"))


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_explain_writes_an_overlay_per_image(trained: dict, method: str) -> None:
    image = some_images(trained, 1)[0]
    cfg = compose_cfg(
        "explain",
        trained["home"],
        f"ckpt_path={trained['ckpt']}",
        f"input={image}",
        f"method={method}",
        "logger=none",
    )
    (png,) = explain(cfg)
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert png.stat().st_size > 5_000 and pixels.std() > 10


def run_cli(module: str, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARTCLF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", f"artclf.{module}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # subprocesses of whole commands: end to end
def test_command_lines(trained: dict, tmp_path: Path) -> None:
    ckpt = f"ckpt_path={trained['ckpt']}"
    image = some_images(trained, 1)[0]
    out = run_cli("predict", ckpt, f"input={image}", "output=json", "top_k=2", home=tmp_path)
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["path"] == str(image) and len(result["predictions"]["origin_style"]) == 2
    out = run_cli(
        "predict", ckpt, f"input={trained['data_root'] / 'test'}", "output=json", "batch_size=8",
        home=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 60  # stdout is the JSON alone; progress on stderr
    assert "predict, step 60/60, " in out.stderr

    folder = tmp_path / "three"
    folder.mkdir()
    for i, source in enumerate(some_images(trained, 3)):
        (folder / f"{i}{source.suffix}").write_bytes(source.read_bytes())
    out = run_cli(
        "explain", ckpt, f"input={folder}", f"output_dir={tmp_path / 'cams'}", home=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "cams").glob("*.png"))) == 3
    assert "explain, step 3/3, " in out.stdout  # progress in a log: the overlays written
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-explain").experiment_id])
    assert run.data.tags["artclf.source_run_id"] == trained["run_id"]
    assert artifacts(client, run.info.run_id, "explain")

    out = run_cli(
        "evaluate", ckpt, "logger=none", f"paths.cache_dir={trained['cache']}", home=tmp_path
    )
    assert out.returncode == 0, out.stderr
    written = [line.removeprefix("wrote ") for line in out.stdout.splitlines() if "wrote " in line]
    assert {Path(p).name for p in written} >= {"confusion_matrix.png", "per_class_report.csv"}
    assert all(Path(p).is_file() for p in written)
    out = run_cli("predict", "ckpt_path=/nowhere.ckpt", f"input={image}", home=tmp_path)
    assert out.returncode == 2 and out.stderr.strip() == (
        "error: ckpt_path '/nowhere.ckpt' does not exist; pass a .ckpt that training wrote"
    )
