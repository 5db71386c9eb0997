"""The web app through Streamlit's AppTest (no browser): every tab against a tiny registered
model; the top-5 it shows must be exactly ``artclf.predict``'s."""

from __future__ import annotations

import hashlib
import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

pytest.importorskip("streamlit")

from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from artclf.app import store
from artclf.app.classify import UploadError, check_upload
from artclf.app.display import display_name, markdown_text
from artclf.app.record import asked
from artclf.inference.classifier import load_module, read_as_trained
from artclf.monitoring.embedding import recorded as recorded_features
from artclf.monitoring.embedding import scored
from artclf.predict import predict
from artclf.serving.feedback_export import export
from artclf.serving.reading import read_feedback, read_requests
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
    assert at.title[0].value == "artclf"
    model = at.selectbox(key="classify-model")
    assert model.value == MODEL  # the champion is preselected
    assert "models:/tiny/1" not in model.options  # version 1 is listed once, as the champion
    example = at.selectbox(key="classify-example")
    assert len(example.options) >= 2
    at = example.set_value(example.options[1]).run()
    assert not at.exception
    path = next(Path(p) for c, p in _examples(at) if c == example.options[1])
    shown = shown_top(at)
    assert shown == predicted_top(registered, path)
    assert len(shown["origin_style"]) == 5
    best = display_name(shown["origin_style"][0][0])  # "AI-generated · Baroque"
    assert at.subheader[0].value.startswith(markdown_text(best))
    assert re.search(r" — \d+\.\d %$", at.subheader[0].value)
    (top,) = [e.value for e in at.html if "data-task" in e.value]
    assert "<caption>Origin and style: top 5 for" in top and "_" not in top.split("<td")[1]
    captions = [c for i in at.tabs[0].image for c in i.captions]
    assert captions[-2:] == [path.name, f"Grad-CAM: {best}"]  # after the example gallery
    assert len(captions) > 2
    card = "\n".join(m.value for m in at.markdown)
    assert registered["run_id"] in card
    assert re.search(r"Test accuracy: \d+\.\d %", card)
    # another class for Grad-CAM, chosen in a select box by its human name: re-rendered
    choice = at.selectbox(key="gradcam-class")
    assert choice.value == shown["origin_style"][0][0] and len(choice.options) == 20
    assert "Human · Ukiyo-e" in choice.options  # the options as shown (format_func)
    at = choice.set_value("human_ukiyo_e").run()
    assert not at.exception
    assert [c for i in at.tabs[0].image for c in i.captions][-1] == "Grad-CAM: Human · Ukiyo-e"


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


def classified_example(at: AppTest) -> tuple[AppTest, str]:
    """The page with its second example classified, and the request id it was recorded as."""
    at = at.run()
    example = at.selectbox(key="classify-example")
    at = example.set_value(example.options[1]).run()
    assert not at.exception and not at.error
    *_, request_id = at.session_state["answers"].values()  # after the first example's
    return at, request_id


def recorded(uri: str, request_id: str, read=read_feedback, seconds: float = 30) -> pd.DataFrame:
    """The records of ``request_id`` once the recorder has written them (every 5 s)."""
    deadline = time.monotonic() + seconds
    while True:
        table = read(uri)
        rows = table[table["request_id"] == request_id]
        if len(rows) or time.monotonic() > deadline:
            return rows.reset_index(drop=True)
        time.sleep(0.5)


def test_confirming_an_asked_answer_records_the_prediction_as_its_label(
    app: AppTest, registered: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTCLF_APP_CONFIRM_SHARE", "1")  # every answer is asked
    at, request_id = classified_example(app)
    best = shown_top(at)["origin_style"][0][0]
    answers = dict(at.session_state["answers"])
    at = at.selectbox(key="gradcam-class").set_value("human_ukiyo_e").run()  # a rerun
    assert at.session_state["answers"] == answers  # shown again: no new request
    (prediction,) = recorded(registered["uri"], request_id, read_requests).to_dict("records")
    assert (prediction["route"], prediction["model"], prediction["version"]) == ("app", "tiny", "1")
    assert prediction["alias"] == "champion" and prediction["prediction"]["origin_style"] == best
    module = load_module(resolve_checkpoint(MODEL))  # the service's numbers for the image
    path = dict(_examples(at))[at.selectbox(key="classify-example").value]
    probs, features = scored(module, read_as_trained(module, [Path(path)])[1])
    assert np.allclose(
        prediction["probabilities"]["origin_style"], probs["origin_style"][0], atol=1e-6
    )
    assert np.allclose(prediction["embedding"], recorded_features(features)[0], atol=1e-4)
    assert prediction["image_sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    (thumbs,) = at.feedback
    assert thumbs.value is None and not at.expander  # asked: no separate report control
    at = thumbs.set_value(1).run()
    assert not at.exception
    assert f"Thanks: recorded as {markdown_text(display_name(best))}." in [
        c.value for c in at.caption
    ]
    (given,) = recorded(registered["uri"], request_id).to_dict("records")
    assert (given["label"], given["task"], given["index"]) == (best, "origin_style", 0)
    assert given["solicited"] is True
    table = recorded(registered["uri"], request_id, read_requests)
    assert list(table["feedback"]) == [best]  # counts towards online accuracy


def test_a_thumbs_down_asks_for_the_right_class_and_records_it(
    app: AppTest, registered: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARTCLF_APP_CONFIRM_SHARE", "1")
    at, request_id = classified_example(app)
    at = at.feedback[0].set_value(0).run()
    choice = at.selectbox(key=f"truth-{request_id}")
    best = shown_top(at)["origin_style"][0][0]
    assert best not in choice.options and len(choice.options) == 19  # the others, ranked
    assert choice.value is None and at.button(key=f"submit-{request_id}").disabled
    at = choice.set_value("human_ukiyo_e").run()
    at = at.button(key=f"submit-{request_id}").click().run()
    assert not at.exception
    (given,) = recorded(registered["uri"], request_id).to_dict("records")
    assert (given["label"], given["solicited"]) == ("human_ukiyo_e", True)
    out = tmp_path / "feedback"  # the image was kept with the label: it exports for retraining
    options = ("model_name=tiny", f"out={out}", f"logger.tracking_uri={registered['uri']}")
    manifest = export(compose_cfg("feedback", tmp_path, *options)).manifest
    mine = manifest[manifest["request_id"] == request_id]
    assert list(mine["label"]) == ["human_ukiyo_e"] and list(mine["sha256"]) == [
        given["image_sha256"]
    ]
    assert (out / "origin_style" / "human_ukiyo_e").is_dir()


def test_an_answer_not_asked_can_be_reported_wrong_and_is_kept_out_of_accuracy(
    app: AppTest, registered: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTCLF_APP_CONFIRM_SHARE", "0")  # none is asked
    at, request_id = classified_example(app)
    assert not at.feedback
    (report,) = at.expander
    assert report.label == "Report a wrong answer"
    at = at.selectbox(key=f"truth-{request_id}").set_value("human_baroque").run()
    at = at.button(key=f"submit-{request_id}").click().run()
    (given,) = recorded(registered["uri"], request_id).to_dict("records")
    assert (given["label"], given["solicited"]) == ("human_baroque", False)
    table = recorded(registered["uri"], request_id, read_requests)
    assert list(table["feedback"]) == [None]  # a volunteered report: biased, not counted


def test_a_random_share_of_answers_is_asked_the_same_on_every_rerun() -> None:
    ids = [f"{i:032x}" for i in range(4000)]
    for share in (0.2, 0.5):
        picked = [asked(i, share) for i in ids]
        assert abs(np.mean(picked) - share) < 4 * np.sqrt(share * (1 - share) / len(ids))
        assert picked == [asked(i, share) for i in ids]
    assert not any(asked(i, 0.0) for i in ids) and all(asked(i, 1.0) for i in ids)
    in_05 = {i for i in ids if asked(i, 0.5)}
    assert {i for i in ids if asked(i, 0.2)} <= in_05  # a larger share asks more of the same


def test_recording_off_shows_no_feedback_and_a_bad_share_is_one_line(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTCLF_APP_RECORD", "false")
    at = app.run()
    example = at.selectbox(key="classify-example")
    at = example.set_value(example.options[1]).run()
    assert shown_top(at) and not at.feedback and not at.expander
    assert "answers" not in at.session_state
    monkeypatch.setenv("ARTCLF_APP_CONFIRM_SHARE", "1.5")
    at = at.run()
    assert [e.value for e in at.error] == [
        "error: the confirm share (--confirm-share, ARTCLF_APP_CONFIRM_SHARE) is 1.5; a share "
        "from 0 to 1 (0.2 asks one answer in five)"
    ]


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


def test_runs_tab_ranks_by_the_best_epoch_in_percent_with_links(
    app: AppTest, registered: dict
) -> None:
    at = app.run()
    assert at.selectbox(key="runs-experiment").value == "artclf-train"
    (table,) = at.dataframe
    frame = table.value
    assert len(frame) == 1
    assert at.subheader[-1].value.startswith("Embedded synthetic set")
    run = MlflowClient(registered["uri"]).get_run(registered["run_id"])
    assert frame["best/val/acc"][0] == round(100 * run.data.metrics["best/val/acc"], 1)
    assert frame["test/acc"][0] == round(100 * run.data.metrics["test/acc"], 1)
    link = frame["open in MLflow"][0]
    assert link.startswith(store.MLFLOW_UI) and registered["run_id"] in link
    assert link.endswith("?workflowType=machine_learning")  # MLflow's model-training view
    caption = at.caption[-1].value
    assert f"({store.MLFLOW_UI}/#/experiments/{run.info.experiment_id}/runs?" in caption


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


def test_launcher_flags_set_the_app_options_and_a_bad_share_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from artclf.app import __main__ as launcher
    from artclf.app.record import Options

    monkeypatch.setenv("ARTCLF_APP_RECORD", "true")  # both restored after the test
    monkeypatch.setenv("ARTCLF_APP_CONFIRM_SHARE", "0.2")
    assert Options.from_config(store.app_config().app) == Options(True, 0.2)
    launcher.set_options(launcher.parse(["--no-record", "--confirm-share", "0.5"]))
    assert Options.from_config(store.app_config().app) == Options(False, 0.5)
    with pytest.raises(SystemExit, match=r"^error: the confirm share .* is 1.5; a share from 0"):
        launcher.main(["--confirm-share", "1.5"])


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


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("AI_art_nouveau", "AI-generated · Art Nouveau"),
        ("human_baroque", "Human · Baroque"),
        ("AI_ukiyo_e", "AI-generated · Ukiyo-e"),
        ("AI_SD_post_impressionism", "AI-generated (SD) · Post-Impressionism"),
        ("AI_LD_ukiyo-e", "AI-generated (LD) · Ukiyo-e"),
        ("AI", "AI-generated"),
        ("human", "Human"),
        ("ukiyo_e", "Ukiyo-e"),
        ("Ukiyo_e", "Ukiyo-e"),
        ("Art_Nouveau", "Art Nouveau"),
        ("vincent-van-gogh", "Vincent van Gogh"),
        ("Vincent_van_Gogh", "Vincent van Gogh"),
        ("SD", "SD"),
    ],
)
def test_class_names_are_written_for_people(label: str, shown: str) -> None:
    assert display_name(label) == shown


def test_labels_in_markdown_stay_text() -> None:
    from markdown_it import MarkdownIt

    from artclf.app.classify import top_k_html
    from artclf.app.display import head_name, percent

    label = "[X](http://evil.example/a_b) **bold** <b>"  # a folder name a dataset chose
    rendered = MarkdownIt().render(f"# {markdown_text(display_name(label))} — 85.2 %")
    assert "<a" not in rendered and "<strong>" not in rendered and "<b>" not in rendered
    assert "[X](http://evil.example/a b) **bold** &lt;b&gt;" in rendered  # shown as typed
    html = top_k_html("origin_style", [{"label": label, "probability": 0.5}], "a.png")
    assert "<b>" not in html  # the raw label stays in data-label, escaped
    assert 'data-label="[X](http://evil.example/a_b) **bold** &lt;b&gt;"' in html
    assert head_name("origin_style") == "Origin and style" and percent(0.8516) == "85.2 %"


def test_the_champion_promoted_last_is_preselected(registered: dict) -> None:
    """Not the alphabetically first: ``aaa`` sorts before ``tiny`` but was promoted earlier."""
    client = MlflowClient(registered["uri"])
    register_run(registered["run_id"], "aaa", client=client)
    try:
        assert store.model_choices(client)[0] == "models:/aaa@champion"  # the newest promotion
        client.update_model_version("tiny", "1", description="promoted again")  # as `promote`
        choices = store.model_choices(client)
        assert choices == ["models:/tiny@champion", "models:/aaa@champion"]  # each once
    finally:
        client.delete_registered_model("aaa")


def test_runs_tables_keep_datasets_apart_and_show_a_sweep_once(tmp_path: Path) -> None:
    """Runs as training logs them (a synthetic sweep of two jobs, a synthetic and a real run):
    ranked by ``best/val/acc`` (not by ``test/acc``), one table per dataset."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("artclf-train")
    parent = client.create_run(
        experiment, run_name="sweep-1", tags={"artclf.role": "sweep", "artclf.task": "train"}
    ).info.run_id

    def run(name: str, source: str, best: float, test: float, tags: dict | None = None) -> None:
        run_id = client.create_run(
            experiment, run_name=name, tags={"artclf.task": "train", **(tags or {})}
        ).info.run_id
        client.log_param(run_id, "data.source", source)
        client.log_param(run_id, "optimized.metric", "val/acc")
        for key, value in {"best/val/acc": best, "test/acc": test, "val/acc": best}.items():
            client.log_metric(run_id, key, value)
        client.set_terminated(run_id)

    child = {"mlflow.parentRunId": parent}
    run("lr=0.01", "synthetic", 0.6, 0.9, child)
    run("lr=0.001", "synthetic", 0.8516, 0.5, child)
    run("cnn", "synthetic", 0.7, 0.7)
    run("real", "wikiart", 0.4, 0.4)
    for key, value in {"best/val/acc": 0.8516, "test/acc": 0.5}.items():  # its best job's
        client.log_metric(parent, key, value)
    client.set_terminated(parent)

    tables = store.runs_tables(client, "artclf-train")
    assert list(tables) == ["Data: wikiart", store.data_title("synthetic")]  # real data first
    real, synthetic = tables.values()
    assert list(real["run"]) == ["real"]
    assert list(synthetic["run"]) == ["lr=0.001", "cnn", "lr=0.01"]  # by best/val/acc
    assert list(synthetic["best/val/acc"]) == [85.2, 70.0, 60.0]
    assert list(synthetic["sweep"]) == ["sweep-1", "", "sweep-1"]  # the parent is no row


def test_the_page_shows_its_title_before_importing_anything_heavy() -> None:
    """The first load of a fresh server imports PyTorch and MLflow (seconds): the title and a
    spinner go out first."""
    import ast

    body = ast.parse(PAGE.read_text()).body
    title = next(i for i, node in enumerate(body) if "st.title" in ast.unparse(node))
    imported = [
        ast.unparse(node) for node in body[:title] if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert imported == ["from __future__ import annotations", "import streamlit as st"]
    assert "from artclf.app import tabs" in ast.unparse(body[title + 1])  # in the spinner
