"""The web app through Streamlit's AppTest (no browser): every tab against a tiny registered
model; the top-5 it shows must be exactly ``artclf.predict``'s."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("streamlit")

from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from artclf.app import store
from artclf.app.classify import UploadError, check_upload
from artclf.predict import predict
from artclf.tracking.registry import register_run, resolve_checkpoint
from artclf.train import train
from conftest import compose_cfg, tiny_adain, train_tiny

PAGE = Path(store.__file__).with_name("page.py")
MODEL = "models:/tiny@champion"
ROW = re.compile(r'data-label="([^"]*)" data-probability="([^"]*)"')


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """A one-epoch simple CNN on the tiny embedded dataset, registered as tiny@champion."""
    home = tmp_path_factory.mktemp("app")
    cfg, run = train_tiny(home, shared_cache, "trainer.max_epochs=1")
    uri = str(cfg.logger.tracking_uri)
    register_run(run.info.run_id, "tiny", client=MlflowClient(uri))
    return {"home": home, "uri": uri, "run_id": run.info.run_id}


@pytest.fixture
def app(registered: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered["uri"])
    monkeypatch.setenv("HOME", str(tmp_path))  # the registry's download cache
    return AppTest.from_file(str(PAGE), default_timeout=300)


def shown_top(at: AppTest) -> dict[str, list[tuple[str, float]]]:
    tables = {}
    for element in at.html:
        task = re.search(r'data-task="([^"]*)"', element.value)
        if task:
            tables[task[1]] = [(label, float(p)) for label, p in ROW.findall(element.value)]
    return tables


def predicted_top(registered: dict, image: Path) -> dict[str, list[tuple[str, float]]]:
    cfg = compose_cfg(
        "predict", registered["home"], f"ckpt_path={resolve_checkpoint(MODEL)}", f"input={image}"
    )
    (result,) = predict(cfg)
    return {
        task: [(item["label"], item["probability"]) for item in ranked]
        for task, ranked in result["predictions"].items()
    }


def test_classify_example_shows_predicts_top5_and_gradcam(app: AppTest, registered: dict) -> None:
    at = app.run()
    assert not at.exception
    model = at.selectbox(key="classify-model")
    assert model.value == MODEL  # the champion is preselected
    example = at.selectbox(key="classify-example")
    assert len(example.options) >= 2
    at = example.set_value(example.options[1]).run()
    assert not at.exception
    path = next(Path(p) for c, p in _examples(at) if c == example.options[1])
    shown = shown_top(at)
    assert shown == predicted_top(registered, path)
    assert len(shown["origin_style"]) == 5
    assert at.subheader[0].value.startswith(shown["origin_style"][0][0])
    captions = [c for i in at.tabs[0].image for c in i.captions]
    assert captions == [path.name, f"Grad-CAM: {shown['origin_style'][0][0]}"]
    card = "\n".join(m.value for m in at.markdown)
    assert "Test accuracy: " in card and registered["run_id"] in card
    # another class for Grad-CAM: re-rendered, no error
    slider = at.select_slider(key="gradcam-class")
    at = slider.set_value(slider.options[-1]).run()
    assert not at.exception
    assert [c for i in at.tabs[0].image for c in i.captions][1] == f"Grad-CAM: {slider.options[-1]}"


def _examples(at: AppTest) -> list[tuple[str, str]]:
    from artclf.app.classify import example_images
    from artclf.inference.classifier import load_module

    module = load_module(resolve_checkpoint(MODEL))
    return [
        (c, str(p)) for c, p in example_images(module, Path(store.app_config().paths.cache_dir))
    ]


def test_classify_upload_matches_predict_and_corrupt_upload_says_why(
    app: AppTest, registered: dict, tmp_path: Path
) -> None:
    at = app.run()
    at = at.radio(key="classify-mode").set_value("Upload").run()
    pixels = np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    at = (
        at.file_uploader(key="classify-up")
        .set_value(("noise.png", buffer.getvalue(), "image/png"))
        .run()
    )
    assert not at.exception and not at.error
    saved = tmp_path / "noise.png"
    saved.write_bytes(buffer.getvalue())
    assert shown_top(at) == predicted_top(registered, saved)

    broken = b"this text file was renamed to .jpg\n" * 10
    at = at.file_uploader(key="classify-up").set_value(("broken.jpg", broken, "image/jpeg")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "error: broken.jpg is not a readable image; upload a complete JPG, PNG or WebP file"
    ]
    assert not shown_top(at)


def test_check_upload_rejects_truncated_and_other_formats() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, format="JPEG")
    check_upload("ok.jpg", buffer.getvalue())
    with pytest.raises(UploadError, match="truncated"):
        check_upload("cut.jpg", buffer.getvalue()[:200])
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    with pytest.raises(UploadError, match="GIF image; upload a JPG"):
        check_upload("a.gif", gif.getvalue())
    with pytest.raises(UploadError, match="empty"):
        check_upload("none.png", b"")


def test_stylise_two_steps_gives_a_downloadable_image(app: AppTest) -> None:
    at = app.run()
    at = at.selectbox(key="stylise-method").select("Gatys (EfficientNet-Lite0)").run()
    at.slider(key="stylise-steps").set_value(2)
    at.slider(key="stylise-size").set_value(64)
    at = at.run()
    at = at.button(key="stylise-go").click().run()
    assert not at.exception
    result = Image.open(io.BytesIO(at.session_state["stylised"]))
    assert max(result.size) == 64
    assert at.get("download_button")


def test_runs_tab_lists_the_run_with_a_link(app: AppTest, registered: dict) -> None:
    at = app.run()
    assert at.selectbox(key="runs-experiment").value == "artclf-train"
    (table,) = at.dataframe
    frame = table.value
    assert len(frame) == 1
    link = frame["open in MLflow"][0]
    assert link.startswith(store.MLFLOW_UI) and link.endswith(registered["run_id"])


def test_bench_app_latency_rows_measure_app_and_bare_predict() -> None:
    from benchmarks.inference import app_latency_rows

    rows = app_latency_rows("simple_cnn", 32, count=3)
    assert len(rows) == 4 and all(r.unit == "ms" for r in rows)
    assert all(r.ours > 0 and r.baseline > 0 for r in rows)


def test_launcher_binds_locally_offline_and_refuses_python_310(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from artclf.app import __main__ as launcher

    command = launcher.streamlit_command(launcher.parse([]).host, 8501)
    assert "--server.address=127.0.0.1" in command
    assert "--browser.gatherUsageStats=false" in command
    monkeypatch.setattr(sys, "version_info", (3, 10, 14))
    with pytest.raises(SystemExit, match=r"^error: the web app needs Python >= 3.11"):
        launcher.main([])


@pytest.fixture(scope="module")
def adain_registered(registered: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A two-step AdaIN decoder in the app's store, registered as adain@champion."""
    from fixtures import STYLE_SIZE as SIZE
    from fixtures import gradient_image as _gradient
    from fixtures import stripes_image as _stripes
    from fixtures import tensor_folder as _folder

    home = tmp_path_factory.mktemp("adain")
    colours = [(0.9, 0.5, 0.2), (0.2, 0.6, 0.9), (0.5, 0.9, 0.3), (0.8, 0.8, 0.8)]
    contents = _folder(home / "photos", [_gradient(c) for c in colours])
    styles = _folder(home / "paintings", [_stripes(c, 2 + i) for i, c in enumerate(colours)])
    cfg = compose_cfg(
        "train",
        home,
        *tiny_adain(contents, styles, registered["uri"], SIZE),
        "logger.experiment_name=artclf-adain",  # the Runs tab test counts artclf-train's runs
    )
    train(cfg)
    return "models:/adain@champion"


def _stylised(at: AppTest) -> torch.Tensor:
    from torchvision.transforms.v2.functional import pil_to_tensor

    image = Image.open(io.BytesIO(at.session_state["stylised"])).convert("RGB")
    return pil_to_tensor(image)[None].float() / 255


def test_stylise_adain_is_the_fast_default_with_alpha_and_colour(
    app: AppTest, adain_registered: str
) -> None:
    from artclf.style import image_io
    from artclf.style.adain_model import load_adain
    from artclf.style.colour import preserve_colour

    at = app.run()
    assert at.selectbox(key="stylise-method").value.startswith("AdaIN")
    assert at.selectbox(key="adain-model").value == adain_registered
    at.slider(key="stylise-size").set_value(64)
    at = at.run()
    paths = dict(_examples(at))
    content = image_io.read_image_tensor(paths[at.selectbox(key="content-example").value], 64)
    style = image_io.read_image_tensor(paths[at.selectbox(key="style-example").value])
    net = load_adain(adain_registered)

    def stylise(alpha: float, colour: bool) -> torch.Tensor:
        nonlocal at
        at.slider(key="adain-alpha").set_value(alpha)
        at.toggle(key="adain-colour").set_value(colour)
        at = at.run().button(key="stylise-go").click().run()
        assert not at.exception and not at.error
        return _stylised(at)

    with torch.no_grad():
        expected = net(content, [style], 1.0).clamp(0, 1)
    full = stylise(1.0, False)
    assert full.shape == expected.shape
    assert (full - expected).abs().max() <= 1 / 255 + 1e-6  # only the PNG's rounding
    with torch.no_grad():  # alpha 0: the decoded content, whatever the style
        decoded = net.decoder(net.taps(content)[net.layer]).clamp(0, 1)
    assert (stylise(0.0, False) - decoded).abs().max() <= 1 / 255 + 1e-6
    kept = stylise(1.0, True)  # colour preservation: the content's chroma, the style's light
    assert (kept - preserve_colour(expected, content)).abs().max() <= 1 / 255 + 1e-6


def test_stylise_adain_bad_checkpoint_is_one_line(app: AppTest) -> None:
    at = app.run()
    at = at.selectbox(key="stylise-method").select("AdaIN (fast: trained decoder)").run()
    at = at.selectbox(key="adain-model").select("checkpoint path…").run()
    at = at.text_input(key="adain-ckpt").input("/no/such.ckpt").run()
    at = at.button(key="stylise-go").click().run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("error: checkpoint '/no/such.ckpt' does not exist;")
