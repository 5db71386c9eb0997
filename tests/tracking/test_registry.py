"""Model Registry end to end on tiny models: registration at training, the logged pyfunc model
loaded by URI in a plain Python process, champion/challenger comparison and promotion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from artclf.predict import predict
from artclf.registry import run as registry_run
from artclf.tracking.registry import resolve_checkpoint
from artclf.train import train
from conftest import PROBABILITY_ATOL, compose_cfg, tiny_training

NAME = "tiny"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """Version 1 (@champion): 3 epochs; version 2 (@challenger): lr=1e-9, as good as untrained."""
    home = tmp_path_factory.mktemp("registry")
    common = (
        *tiny_training(shared_cache, f"sqlite:///{home}/mlflow.db"),
        f"logger.registered_model_name={NAME}",
    )
    good = compose_cfg("train", home / "good", *common, "trainer.max_epochs=3")
    train(good)
    bad = compose_cfg("train", home / "bad", *common, "trainer.max_epochs=1", "optim.lr=1e-9")
    train(bad)
    return {
        "home": home,
        "uri": good.logger.tracking_uri,
        "client": MlflowClient(good.logger.tracking_uri),
        "data_root": Path(good.data.root),
    }


def aliases(client: MlflowClient) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(NAME).aliases.items()}


def registry_cfg(store: dict, *overrides: str) -> DictConfig:
    uri = f"logger.tracking_uri={store['uri']}"
    return compose_cfg("registry", store["home"], f"name={NAME}", uri, *overrides)


def test_training_registers_versions_with_metrics_and_aliases(store: dict) -> None:
    client = store["client"]
    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{NAME}'")}
    assert set(versions) == {"1", "2"}
    assert aliases(client) == {"champion": "1", "challenger": "2"}
    for version in versions.values():
        assert version.source.startswith("models:/m-")  # the logged pyfunc model
        assert 0 <= float(version.tags["test/acc"]) <= 1
        assert len(version.tags["artclf.data_fingerprint"]) == 16
    # same data, same split: same fingerprint
    assert len({v.tags["artclf.data_fingerprint"] for v in versions.values()}) == 1


def test_pyfunc_model_by_uri_in_a_fresh_process_equals_predict(store: dict, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])  # predict reads the default store
    images = sorted((store["data_root"] / "test").rglob("*.jpg"))[:4]
    script = f"""
import json, mlflow, numpy as np, pandas as pd
from PIL import Image
model = mlflow.pyfunc.load_model("models:/{NAME}@champion")
paths = {[str(p) for p in images]!r}
as_bytes = [open(p, "rb").read() for p in paths]
arrays = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
out = {{
    "paths": model.predict(paths, params={{"top_k": 3}}),
    "bytes": model.predict(as_bytes, params={{"top_k": 3}}),
    "arrays": model.predict(pd.DataFrame({{"image": arrays}}), params={{"top_k": 3}}),
    "meta": model.metadata.metadata["artclf"],
    "example": model.metadata.saved_input_example_info is not None,
    "signature": model.metadata.signature is not None,
}}
print("RESULT" + json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        # file paths are read only by an in-process caller that says so (PATHS_ENV)
        env={**os.environ, "MLFLOW_TRACKING_URI": store["uri"], "ARTCLF_PYFUNC_PATHS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    assert out["example"] and out["signature"]
    assert out["meta"]["preprocessing"]["image_size"] == 32
    assert len(out["meta"]["tasks"]["origin_style"]) == 20
    ckpt = resolve_checkpoint(f"models:/{NAME}@champion")
    assert ckpt.suffix == ".ckpt"
    cfg = compose_cfg("predict", store["home"], f"ckpt_path={ckpt}", "input=unused", "top_k=3")
    for kind in ("paths", "bytes", "arrays"):
        for image, from_model in zip(images, out[kind], strict=True):
            cfg.input = str(image)
            (expected,) = predict(cfg)
            ranked = expected["predictions"]["origin_style"]
            assert list(from_model) == ["origin_style"]  # the data's label column, as predict
            assert [r["label"] for r in from_model["origin_style"]] == [r["label"] for r in ranked]
            got = np.array([r["probability"] for r in from_model["origin_style"]])
            want = np.array([r["probability"] for r in ranked])
            np.testing.assert_allclose(got, want, atol=PROBABILITY_ATOL)
    # predict takes the registry URI itself
    cfg.ckpt_path, cfg.input = f"models:/{NAME}/1", str(images[0])
    assert predict(cfg)[0]["predictions"] == out["paths"][0]


def comparison_runs(store: dict) -> list:
    client = store["client"]
    experiment = client.get_experiment_by_name("artclf-registry")  # its own kind of run
    return client.search_runs([experiment.experiment_id], "tags.`artclf.task` = 'registry'")


def test_worse_candidate_is_not_promoted_better_one_is(store: dict, capsys) -> None:
    client = store["client"]
    registry_run(registry_cfg(store, "action=promote", "output=json"))
    first = json.loads(capsys.readouterr().out)
    assert first["promoted"] is None and not first["candidate_wins"]
    assert first["candidate"]["version"] == "2" and first["champion"]["version"] == "1"
    assert first["acc_diff"] < 0 and first["ci95"][0] <= first["acc_diff"] <= first["ci95"][1]
    assert aliases(client)["champion"] == "1"

    # force the worse one in, then the better one must win it back
    registry_run(registry_cfg(store, "action=promote", "force=true", "output=json"))
    assert json.loads(capsys.readouterr().out)["promoted"]
    assert aliases(client)["champion"] == "2"
    registry_run(registry_cfg(store, "action=promote", "candidate=1", "output=json"))
    last = json.loads(capsys.readouterr().out)
    assert last["candidate_wins"] and last["mcnemar_p"] < 0.05 and last["promoted"]
    assert aliases(client)["champion"] == "1"
    assert "Promoted to champion" in client.get_model_version(NAME, "1").description

    runs = comparison_runs(store)
    assert len(runs) == 3
    tags = [r.data.tags for r in runs]
    tagged = {(t["artclf.candidate_version"], t["artclf.champion_version"]) for t in tags}
    assert tagged == {("2", "1"), ("1", "2")}
    assert "mcnemar_p" in runs[0].data.metrics


def test_list_shows_versions_and_aliases(store: dict, capsys) -> None:
    registry_run(registry_cfg(store, "action=list", "output=json"))
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [2, 1]
    assert all("test/acc" in r["metrics"] and r["run_id"] for r in rows)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("action=compare", "champion=gold"), "aliases of tiny: @challenger, @champion"),
        (("action=list", "name=nope"), "no registered model 'nope'"),
        (("action=compare", "candidate=1", "champion=1"), "are the same version"),
        (("action=rank",), "valid: action=list|compare|promote"),
    ],
)
def test_mistakes_are_one_clear_error(store: dict, overrides, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry_run(registry_cfg(store, *overrides))


def _png_base64(size: int) -> str:
    import base64
    import io

    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_pyfunc_inputs_read_base64_text_that_no_file_name_could_be() -> None:
    from artclf.publishing.classifier import image_source, read_rgb

    """What model serving sends for a real image is longer than any path may be (4,096
    bytes), and may start with more than a file name's 255 characters before a '/'."""
    text = _png_base64(64)
    assert len(text) > 4096
    assert read_rgb(text).size == (64, 64)
    with pytest.raises(FileNotFoundError, match="neither a file nor base64"):
        image_source("A" * 300, paths=True)
