"""The logged classifier serves elsewhere: its requirements install from a package index (no
``artclf==``, which no index has), artclf's code travels inside it, and served it never opens
a file a request names; file paths are read in-process only when the caller says so."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import requests
from serving_helpers import NAME, tiny_store, use_store

from benchmarks.serving import free_port

URI = f"models:/{NAME}@champion"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    return tiny_store(tmp_path_factory, shared_cache)


def test_requirements_install_from_an_index_and_the_code_travels(store: dict, tmp_path) -> None:
    model = Path(
        mlflow.artifacts.download_artifacts(URI, dst_path=str(tmp_path), tracking_uri=store["uri"])
    )
    requirements = (model / "requirements.txt").read_text().split()
    assert not any(line.startswith("artclf") for line in requirements)
    assert all("==" in line for line in requirements)
    assert {"torch", "mlflow", "timm", "lightning"} <= {r.split("==")[0] for r in requirements}
    assert (model / "code" / "artclf" / "publishing" / "classifier.py").is_file()
    assert (model / "code" / "artclf" / "conf" / "predict.yaml").is_file()
    assert not list((model / "code").rglob("__pycache__"))


def test_file_paths_are_read_in_process_only_when_told(store: dict, monkeypatch) -> None:
    use_store(store, monkeypatch)
    monkeypatch.setattr(sys, "path", list(sys.path))  # loading prepends the model's code/
    model = mlflow.pyfunc.load_model(URI)
    image = store["images"][0]
    from_bytes = model.predict([base64.b64encode(image.read_bytes()).decode()])
    monkeypatch.delenv("ARTCLF_PYFUNC_PATHS", raising=False)
    with pytest.raises(FileNotFoundError, match=r"not base64-encoded image bytes .*PATHS=1"):
        model.predict([str(image)])
    monkeypatch.setenv("ARTCLF_PYFUNC_PATHS", "1")
    assert model.predict([str(image)]) == from_bytes
    # a scoring server never reads paths, whatever else its environment says
    monkeypatch.setenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
    with pytest.raises(FileNotFoundError, match="not base64-encoded image bytes"):
        model.predict([str(image)])


LOAD_WITHOUT_ARTCLF = """
import base64, json, sys
sys.path = [p for p in sys.path if p != {src!r}]  # as if artclf were not installed
import mlflow
model = mlflow.pyfunc.load_model({uri!r})
import artclf
encoded = base64.b64encode(open({image!r}, "rb").read()).decode()
print("RESULT" + json.dumps({{"artclf": artclf.__file__, "bytes": model.predict([encoded])}}))
"""


@pytest.mark.slow
def test_the_model_runs_the_code_it_carries(store: dict, monkeypatch) -> None:
    """Where artclf is not installed, loading the model imports the artclf inside it."""
    import artclf

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    src = str(Path(artclf.__file__).parents[1])
    image = str(store["images"][0])
    code = LOAD_WITHOUT_ARTCLF.format(src=src, uri=URI, image=image)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    assert "/code/artclf/" in out["artclf"] and not out["artclf"].startswith(src)
    mlflow.set_tracking_uri(store["uri"])
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert out["bytes"] == mlflow.pyfunc.load_model(URI).predict(
        [base64.b64encode(Path(image).read_bytes()).decode()]
    )


def requests_ok(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=2).ok
    return False


@pytest.mark.slow
def test_mlflow_models_serve_answers_base64_and_refuses_paths(store: dict) -> None:
    """MLflow's own scoring server on this environment (``--env-manager local``: building a
    fresh one needs every requirement downloaded)."""
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store["uri"],
        "ARTCLF_PYFUNC_PATHS": "1",  # the scoring server refuses paths all the same
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # its uvicorn
    }
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", URI, "-p", str(port)]
    server = subprocess.Popen(
        [*command, "--env-manager", "local", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not requests_ok(f"{url}/ping"):
            assert time.monotonic() < deadline and server.poll() is None, "no scoring server"
            time.sleep(0.5)
        image = store["images"][0]
        encoded = base64.b64encode(image.read_bytes()).decode()
        answer = requests.post(f"{url}/invocations", json={"inputs": [encoded]}, timeout=60)
        assert answer.ok, answer.text
        (ranked,) = answer.json()["predictions"]
        assert len(ranked["origin_style"]) == 5
        refused = requests.post(f"{url}/invocations", json={"inputs": [str(image)]}, timeout=60)
        assert not refused.ok and "not base64-encoded image bytes" in refused.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the session it started, nothing else
        server.wait(timeout=30)
