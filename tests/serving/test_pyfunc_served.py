"""The logged classifier serves elsewhere: its requirements install from a package index (no
``artclf==``, which no index has), artclf's code travels inside it, and served it never opens
a file a request names; file paths are read in-process only when the caller says so."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


def test_requirements_install_from_an_index_and_the_code_travels(
    store: dict, tmp_path, monkeypatch
) -> None:
    use_store(store, monkeypatch)
    model = Path(mlflow.artifacts.download_artifacts(URI, dst_path=str(tmp_path)))
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


@contextlib.contextmanager
def scoring_server(store: dict, log: Path, *options: str, env: dict, wait_s: float):
    """``mlflow models serve`` of the champion (``options`` added), in a session of its own on a
    free port; its URL once ``/ping`` answers, within ``wait_s`` (its output in ``log``)."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", URI, "-p", str(port)]
    env = {**env, "MLFLOW_TRACKING_URI": store["uri"]}
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, *options, "--host", "127.0.0.1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while not requests_ok(f"{url}/ping"):
            alive = time.monotonic() < deadline and server.poll() is None
            assert alive, "no scoring server:\n" + log.read_text()[-3000:]
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the session it started, nothing else
        server.wait(timeout=30)


def serve_base64_refuse_path(url: str, image: Path) -> list[dict]:
    """The server's answer to ``image`` as base64; a request naming it as a path is refused."""
    encoded = base64.b64encode(image.read_bytes()).decode()
    answer = requests.post(f"{url}/invocations", json={"inputs": [encoded]}, timeout=60)
    assert answer.ok, answer.text
    refused = requests.post(f"{url}/invocations", json={"inputs": [str(image)]}, timeout=60)
    assert not refused.ok and "not base64-encoded image bytes" in refused.text
    return answer.json()["predictions"]


@pytest.mark.slow
def test_mlflow_models_serve_answers_base64_and_refuses_paths(store: dict, tmp_path) -> None:
    """MLflow's own scoring server on this environment (``--env-manager local``)."""
    env = {
        **os.environ,
        "ARTCLF_PYFUNC_PATHS": "1",  # the scoring server refuses paths all the same
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # its uvicorn
    }
    log = tmp_path / "serve.log"
    with scoring_server(store, log, "--env-manager", "local", env=env, wait_s=180) as url:
        (ranked,) = serve_base64_refuse_path(url, store["images"][0])
    assert len(ranked["origin_style"]) == 5


@pytest.mark.slow
def test_default_env_manager_serves_from_a_fresh_environment(
    store: dict, tmp_path, monkeypatch
) -> None:
    """MLflow's default env manager (virtualenv: the model's Python from pyenv, a new venv,
    pip) installs the model's requirements from the package index, without artclf, and serves
    what this process predicts. Minutes, and ~6.6 GB (torch's CUDA libraries), removed after."""
    if os.environ.get("ARTCLF_TEST_FRESH_ENV") != "1":
        pytest.skip("downloads ~6.6 GB from PyPI: run with ARTCLF_TEST_FRESH_ENV=1 to check it")
    if shutil.which("pyenv") is None:
        pytest.skip("MLflow's default env manager needs pyenv (it installs the model's Python)")
    hidden = ("VIRTUAL_ENV", "PYTHONPATH")  # nothing of this venv reaches the new one
    image = store["images"][0]
    with tempfile.TemporaryDirectory(prefix="mlflow-envs-") as envs:  # gone afterwards
        env = {k: v for k, v in os.environ.items() if k not in hidden}
        env |= {"MLFLOW_ENV_ROOT": envs, "PIP_NO_CACHE_DIR": "1"}  # no 6 GB left in a cache
        with scoring_server(store, tmp_path / "serve.log", env=env, wait_s=580) as url:
            served = serve_base64_refuse_path(url, image)
        (python,) = Path(envs).glob("*/bin/python")
        without = subprocess.run([python, "-c", "import artclf"], capture_output=True)
    assert without.returncode != 0  # served from the code inside the model
    use_store(store, monkeypatch)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert served == mlflow.pyfunc.load_model(URI).predict(
        [base64.b64encode(image.read_bytes()).decode()]
    )
