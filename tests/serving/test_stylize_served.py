"""``python -m artclf.serve`` of a registered AdaIN and CycleGAN, over HTTP on 127.0.0.1:
``POST /stylize`` draws the pixels ``python -m artclf.stylize`` writes for the same images and
options (as a PNG, or base64 in JSON), bad input is a one-line 4xx with the service still up,
the record holds digests and never the images, a promotion and a rollback are followed, and
what a style model cannot do (a challenger, ``/predict``, ``/feedback``) is one line."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow.tracking import MlflowClient
from PIL import Image
from serving_helpers import running, use_store

from artclf.serving.inputs import RequestError
from artclf.serving.kinds import ADAIN, CLASSIFIER, check_kinds
from artclf.serving.recording import EXPERIMENT, FOLDERS, STYLIZATION
from artclf.serving.settings import Settings
from artclf.serving.spec import ServingSpec
from artclf.tracking.registry import CHALLENGER, register_run, rollback_champion, set_champion
from benchmarks.serving import ServeProcess, free_port
from conftest import PIXEL_ATOL, compose_cfg, tiny_adain
from fixtures import STYLE_SIZE, gradient_image, stripes_image, tensor_folder

#: The longer side asked for: twice the training size, a multiple of AdaIN's encoder stride.
SIZE = 2 * STYLE_SIZE
CYCLEGAN = (
    "experiment=cyclegan_monet",
    "logger.register=true",
    "cyclegan.fid=false",
    "cyclegan.ngf=4",
    "cyclegan.ndf=4",
    "cyclegan.n_res_blocks=1",
    f"data.image_size={STYLE_SIZE}",
    f"data.load_size={STYLE_SIZE + 4}",
    "data.num_workers=0",
    "data.batch_size=2",
    "data.val_fraction=0.5",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.accelerator=cpu",
    "trainer.precision=32-true",
    "callbacks.progress_bar=false",
)


def test_a_route_of_another_kind_and_a_mixed_pair_are_one_line() -> None:
    with pytest.raises(RequestError) as refused:
        ServingSpec(CLASSIFIER, "models:/clf@champion")._takes("/stylize")
    assert refused.value.status == 409
    assert refused.value.detail == (
        "models:/clf@champion is an image classifier: POST /predict answers with it, not /stylize"
    )
    ServingSpec(ADAIN, "models:/adain@champion")._takes("/stylize")  # its own route: no error
    settings = Settings("models:/a@champion", challenger="models:/b@challenger")
    kinds = {"models:/a@champion": CLASSIFIER, "models:/b@challenger": ADAIN}
    with pytest.raises(ValueError, match="another version of the same kind"):
        check_kinds(kinds, settings)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[dict]:
    """``adain`` v1 and ``cyclegan`` v1 (@champion), each a two-step training on 32-px
    gradients (photos) and stripes (paintings), registered in one store."""
    from artclf.train import train

    home = tmp_path_factory.mktemp("stylize-served")
    uri = f"sqlite:///{home}/mlflow.db"
    colours = [(0.9, 0.5, 0.2), (0.2, 0.6, 0.9), (0.5, 0.9, 0.3), (0.8, 0.8, 0.8)]
    photos = tensor_folder(home / "photos", [gradient_image(c) for c in colours])
    paintings = tensor_folder(
        home / "paintings", [stripes_image(c, 2 + i) for i, c in enumerate(colours)]
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        adain = tiny_adain(photos, paintings, uri, STYLE_SIZE)
        train(compose_cfg("train", home / "adain", *adain, "trainer.precision=32-true"))
        domains = (f"data.domain_a={photos}", f"data.domain_b={paintings}")
        train(
            compose_cfg(
                "train", home / "cyclegan", *CYCLEGAN, *domains, f"logger.tracking_uri={uri}"
            )
        )
        yield {"home": home, "uri": uri, "content": photos / "0.png", "style": paintings / "1.png"}


@pytest.fixture(scope="module")
def adain_server(store: dict, shared_cache: Path) -> Iterator[ServeProcess]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        with running(
            store,
            "model=models:/adain@champion",
            "serve.poll_seconds=0.3",
            "serve.flush_seconds=0.5",
        ) as started:
            yield started


def stylized_by_command(store: dict, name: str, *overrides: str) -> np.ndarray:
    """The PNG ``python -m artclf.stylize`` writes as ``name``, as an array."""
    from artclf.stylize import stylize

    out = Path(tempfile.mkdtemp(dir=store["home"]))
    cfg = compose_cfg(
        "stylize", out, *overrides, f"size={SIZE}", f"logger.tracking_uri={store['uri']}"
    )
    stylize(cfg)
    return np.asarray(Image.open(Path(cfg.paths.run_dir) / f"{name}.png").convert("RGB"))


def pixels_of(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
def test_adain_draws_what_the_stylize_command_draws(
    store: dict, adain_server: ServeProcess
) -> None:
    content, style = store["content"], store["style"]
    files = {"content": content.read_bytes(), "style": style.read_bytes()}
    answer = requests.post(
        f"{adain_server.url}/stylize", files=files, data={"alpha": "0.5", "size": SIZE}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-model"] == "adain" and answer.headers["x-model-version"] == "1"
    assert answer.headers["x-model-alias"] == "champion"
    assert len(answer.headers["x-request-id"]) == 32
    served = pixels_of(answer.content)
    assert served.shape == (SIZE, SIZE, 3)
    expected = stylized_by_command(
        store,
        f"{content.stem}__{style.stem}",
        "method=adain",
        "ckpt_path=models:/adain@champion",
        f"content={content}",
        f"style={style}",
        "alpha=0.5",
    )
    np.testing.assert_allclose(served.astype(int), expected.astype(int), atol=PIXEL_ATOL)

    # JSON in (base64, the style first in the form order does not matter), JSON out
    encoded = {k: base64.b64encode(v).decode() for k, v in files.items()}
    as_json = requests.post(
        f"{adain_server.url}/stylize",
        json={"style": encoded["style"], "content": encoded["content"], "alpha": 0.5, "size": SIZE},
        headers={"Accept": "application/json"},
        timeout=60,
    ).json()
    assert (as_json["model"], as_json["version"], as_json["width"]) == ("adain", "1", SIZE)
    np.testing.assert_array_equal(pixels_of(base64.b64decode(as_json["image"])), served)

    # the defaults are the logged model's: alpha 1, the training size
    card = requests.get(f"{adain_server.url}/metadata", timeout=30).json()["champion"]
    assert (card["kind"], card["method"], card["endpoint"]) == (
        "style-transfer",
        "adain",
        "POST /stylize",
    )
    assert card["options"] == {"alpha": 1.0, "size": STYLE_SIZE, "preserve_colour": False}
    assert card["run_link"].endswith(card["run_id"])
    default = requests.post(f"{adain_server.url}/stylize", files=files, timeout=60)
    assert pixels_of(default.content).shape == (STYLE_SIZE, STYLE_SIZE, 3)


@pytest.mark.slow
def test_bad_input_is_a_one_line_4xx_and_the_service_stays_up(
    store: dict, adain_server: ServeProcess
) -> None:
    content, style = store["content"].read_bytes(), store["style"].read_bytes()
    thin = io.BytesIO()  # covering a 64-px content stretches it to 1,920,000 x 64
    Image.new("RGB", (30_000, 1)).save(thin, format="PNG")
    png, text = {"Content-Type": "image/png"}, {"Content-Type": "text/plain"}
    pair = {"content": content, "style": style}
    cases = [
        ("stylize", {"json": {"content": str(store["content"])}}, 400, "file paths are never read"),
        ("stylize", {"json": {"content": "/etc/passwd"}}, 400, "file paths are never read"),
        ("stylize", {"files": {"content": b"not an image", "style": style}}, 422, "not decode"),
        ("stylize", {"files": {"content": content[:40], "style": style}}, 422, "not decode"),
        ("stylize", {"files": {"content": content, "style": thin.getvalue()},
                     "data": {"size": SIZE}}, 422, "stretches it to 122,880,000 pixels"),
        ("stylize", {"data": content, "headers": png}, 400, "AdaIN needs a style image"),
        ("stylize", {"files": pair, "data": {"size": 4096}}, 400, "from 16 to 1024"),
        ("stylize", {"files": pair, "data": {"alpha": "2"}}, 400, "from 0 (the content) to 1"),
        ("stylize", {"files": pair, "data": {"direction": "b2a"}}, 400, "no option 'direction'"),
        ("stylize", {"data": b"a=1", "headers": text}, 415, "content type"),
        ("predict", {"data": content, "headers": png}, 409, "POST /stylize answers with it"),
        ("feedback", {"json": {"request_id": "0" * 32, "label": "x"}}, 409, "not /feedback"),
    ]  # fmt: skip
    for route, kwargs, status, says in cases:
        answer = requests.post(f"{adain_server.url}/{route}", timeout=60, **kwargs)
        assert answer.status_code == status, (says, answer.text)
        detail = answer.json()["detail"]
        assert says in detail and "\n" not in detail and "Traceback" not in detail, detail
    assert requests.get(f"{adain_server.url}/health", timeout=10).text == "ok"
    assert requests.post(f"{adain_server.url}/stylize", files=pair, timeout=60).ok
    assert "Traceback" not in adain_server.output()


@pytest.mark.slow
def test_the_record_holds_digests_never_images(store: dict, adain_server: ServeProcess) -> None:
    content, style = store["content"].read_bytes(), store["style"].read_bytes()
    answer = requests.post(
        f"{adain_server.url}/stylize",
        files={"content": content, "style": style},
        data={"alpha": "0.25"},
        timeout=60,
    )
    request_id = answer.headers["x-request-id"]
    deadline, found = time.monotonic() + 30, None
    while found is None and time.monotonic() < deadline:
        time.sleep(0.5)
        found = next((r for r in stylizations(store) if r["request_id"] == request_id), None)
    assert found is not None, "no record of the request"
    assert found["kind"] == STYLIZATION and found["route"] == "champion"
    assert (found["model"], found["version"], found["method"]) == ("adain", "1", "adain")
    assert found["content_sha256"] == hashlib.sha256(content).hexdigest()
    assert found["style_sha256"] == hashlib.sha256(style).hexdigest()
    assert found["output_sha256"] == hashlib.sha256(answer.content).hexdigest()
    assert found["options"] == {"alpha": 0.25, "size": STYLE_SIZE, "preserve_colour": False}
    assert found["latency_ms"] > 0
    assert base64.b64encode(content).decode() not in json.dumps(found)


def stylizations(store: dict) -> list[dict]:
    """The stylization records written so far into the store's serving runs."""
    client = MlflowClient(store["uri"])
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    folders = [
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id,
            artifact_path=FOLDERS[STYLIZATION],
            dst_path=tempfile.mkdtemp(),
            tracking_uri=store["uri"],
        )
        for run in runs
        if client.list_artifacts(run.info.run_id, FOLDERS[STYLIZATION])
    ]
    return [
        json.loads(line)
        for folder in folders
        for path in sorted(Path(folder).glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


@pytest.mark.slow
def test_a_promotion_and_a_rollback_are_followed(
    store: dict, adain_server: ServeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v2 (the same logged model registered again) promoted, then rolled back; a version of
    another kind is not followed."""
    use_store(store, monkeypatch)
    client = MlflowClient(store["uri"])
    first = client.get_model_version_by_alias("adain", "champion")
    register_run(first.run_id, "adain", CHALLENGER, client)
    files = {"content": store["content"].read_bytes(), "style": store["style"].read_bytes()}

    def served_version(wanted: str) -> str:
        deadline = time.monotonic() + 30
        while True:
            answer = requests.post(f"{adain_server.url}/stylize", files=files, timeout=60)
            assert answer.ok, answer.text
            if answer.headers["x-model-version"] == wanted or time.monotonic() > deadline:
                return answer.headers["x-model-version"]
            time.sleep(0.2)

    set_champion("adain", "2", "promoted by the stylize serving test", expected="1")
    assert served_version("2") == "2"
    assert rollback_champion("adain") == "1"
    assert served_version("1") == "1"

    # @champion moved onto a version of another kind (the CycleGAN registered as adain v3):
    # the routes are an AdaIN's, so the server keeps v1 and says why
    translator = client.get_model_version_by_alias("cyclegan", "champion")
    register_run(translator.run_id, "adain", alias=None, client=client)
    client.set_registered_model_alias("adain", "champion", "3")
    try:
        deadline = time.monotonic() + 30
        while "names version 3, a CycleGAN" not in adain_server.output():
            assert time.monotonic() < deadline, adain_server.output()[-2000:]
            time.sleep(0.2)
        assert served_version("1") == "1"
    finally:
        client.set_registered_model_alias("adain", "champion", "1")


@pytest.mark.slow
def test_cyclegan_translates_both_ways_as_the_command_does(store: dict, shared_cache: Path) -> None:
    content = store["content"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        with running(store, "model=models:/cyclegan@champion") as server:
            for direction in ("a2b", "b2a"):
                answer = requests.post(
                    f"{server.url}/stylize",
                    data=content.read_bytes(),
                    params={"direction": direction, "size": SIZE},
                    headers={"Content-Type": "image/png"},
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text
                assert answer.headers["x-model"] == "cyclegan"
                expected = stylized_by_command(
                    store,
                    f"{content.stem}__{direction}",
                    "method=cyclegan",
                    "ckpt_path=models:/cyclegan@champion",
                    f"input={content}",
                    f"direction={direction}",
                )
                served = pixels_of(answer.content)
                assert served.shape == (SIZE, SIZE, 3)
                np.testing.assert_allclose(
                    served.astype(int), expected.astype(int), atol=PIXEL_ATOL
                )
            card = requests.get(f"{server.url}/metadata", timeout=30).json()["champion"]
            assert (card["kind"], card["method"]) == ("image-translator", "cyclegan")
            assert card["options"] == {"direction": "a2b", "size": STYLE_SIZE}
            files = {"content": content.read_bytes(), "style": content.read_bytes()}
            refused = requests.post(f"{server.url}/stylize", files=files, timeout=60)
            assert refused.status_code == 400 and "send no style image" in refused.json()["detail"]


@pytest.mark.slow
def test_a_style_model_with_a_challenger_is_refused_in_one_line(
    store: dict, shared_cache: Path
) -> None:
    from artclf.serving.server import serve

    cfg = compose_cfg(
        "serve",
        store["home"],
        "serve.model=models:/cyclegan@champion",
        "serve.challenger=models:/cyclegan@champion",
        f"logger.tracking_uri={store['uri']}",
        f"port={free_port()}",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARTCLF_CACHE", str(shared_cache))
        with pytest.raises(ValueError, match=r"serve\.challenger compares classifiers") as refused:
            serve(cfg)
    assert "\n" not in str(refused.value)
