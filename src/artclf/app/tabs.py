"""The three tabs of the page (``page.py``) over the project's MLflow store. The models load
once per process (``st.cache_resource``) and are shared by all sessions; labels, heads and
numbers are written for people (``artclf.app.display``)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import streamlit as st
import torch

from artclf.app import classify as cls
from artclf.app import record, store
from artclf.app.display import display_name, head_name, markdown_text, percent
from artclf.app.stylise import METHODS
from artclf.inference.classifier import load_module
from artclf.serving.recording import Recorder
from artclf.style import image_io
from artclf.tracking.derived import source_run_id

CHECKPOINT = "checkpoint path…"


@st.cache_resource(show_spinner="Loading the model …")
def loaded_module(ckpt: str):
    return load_module(ckpt)


@st.cache_resource(show_spinner="Loading the style network …")
def loaded_network(method: str, source: str | None):
    return METHODS[method].load(source)


@st.cache_data(show_spinner="Finding example images …")
def examples(ckpt: str) -> list[tuple[str, str]]:
    return [(c, str(p)) for c, p in cls.example_images(loaded_module(ckpt), cache_dir())]


def cache_dir() -> Path:
    return Path(str(store.app_config().paths.cache_dir))


def session_folder() -> Path:
    """A temporary folder per browser session, for its uploads."""
    if "folder" not in st.session_state:
        st.session_state.folder = tempfile.mkdtemp(prefix="artclf-app-")
    return Path(st.session_state.folder)


def choose_model(client, key: str) -> str | None:
    """A registry URI (champion first) or a checkpoint path, as the person picks it."""
    options = [*store.model_choices(client), CHECKPOINT]
    choice = st.selectbox("Model", options, key=f"{key}-model", format_func=short_name)
    if choice != CHECKPOINT:
        return choice
    path = st.text_input("Checkpoint (.ckpt)", key=f"{key}-ckpt")
    if len(options) == 1 and not path:
        st.info("No model is registered yet: `make demo` trains and registers one.")
    return path or None


#: Pixels per thumbnail of the example gallery.
GALLERY_WIDTH = 96


def short_name(uri: str) -> str:
    return uri.removeprefix("models:/")


def pick_image(label: str, choices: list[tuple[str, str]], key: str) -> Path | None:
    """An example or an upload; a bad upload shows its one-line error and returns None."""
    mode = st.radio(label, ["Example", "Upload"], horizontal=True, key=f"{key}-mode")
    if mode == "Example":
        if not choices:
            st.info("No example images; upload one.")
            return None
        captions = [c for c, _ in choices]
        st.image([p for _, p in choices], caption=captions, width=GALLERY_WIDTH)  # a gallery
        chosen = st.selectbox("Example image", captions, key=f"{key}-example")
        return Path(dict(choices)[chosen])
    upload = st.file_uploader(
        f"JPG, PNG or WebP, at most {cls.MAX_UPLOAD_MB} MB", type=cls.UPLOAD_TYPES, key=f"{key}-up"
    )
    if upload is None:
        return None
    try:
        return cls.store_upload(upload.name, upload.getvalue(), session_folder() / key)
    except cls.UploadError as error:
        st.error(f"error: {error}")
        return None


def model_card(client, source: str, ckpt: Path, module) -> None:
    card = store.model_card(client, source, source_run_id(ckpt), module.hparams.get("data"))
    accuracy = "not logged" if card.test_accuracy is None else percent(card.test_accuracy)
    name = markdown_text(card.run_name or "")
    run = f"[{name}]({card.run_link})" if card.run_link else "not in this store"
    st.markdown(
        f"**Model card** — {markdown_text(short_name(source))}  \n"
        f"Dataset: {markdown_text(card.dataset)}  \nTest accuracy: {accuracy}  \n"
        f"Training run: {run}"
    )


def classify_tab(client) -> None:
    source = choose_model(client, "classify")
    if not source:
        return
    try:
        options = record.Options.from_config(store.app_config().app)
        version = record.pinned(source, client)
        ckpt = store.checkpoint_of(f"models:/{'/'.join(version)}" if version else source)
        module = loaded_module(str(ckpt))
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        st.error(f"error: {error}")
        return
    left, right = st.columns([1, 1])
    with left:
        path = pick_image("Image", examples(str(ckpt)), "classify")
    if path is None:
        with right:
            model_card(client, source, ckpt, module)
        return
    result = cls.classify(module, path)
    first = next(iter(result.top))
    best = result.top[first][0]
    with right:
        label = markdown_text(display_name(best["label"]))
        st.subheader(f"{label} — {percent(best['probability'])}")
        for task, ranked in result.top.items():
            st.html(cls.top_k_html(task, ranked, path.name))
        if version and options.record:
            shown = record.Shown(source, *version, module.tasks)
            answers = st.session_state.setdefault("answers", {})
            request_id = record.record_answer(recorder(), answers, shown, path, result)
            solicited = record.asked(request_id, options.confirm_share)
            feedback_panel(request_id, first, result.classes, solicited, path)
        model_card(client, source, ckpt, module)
    with left:
        target = st.selectbox(
            f"Grad-CAM for the class ({head_name(first)})",
            result.classes,
            format_func=display_name,
            key="gradcam-class",
        )  # the classes ranked: the prediction first
        if st.toggle("Grad-CAM overlay", value=True):
            overlay = cls.gradcam_overlay(module, result, path, target)
            caption = f"Grad-CAM: {display_name(target)}"
            st.image([str(path), overlay], caption=[path.name, caption], width=240)
        else:
            st.image(str(path), caption=path.name, width=240)


def recorder() -> Recorder:
    return store_recorder(str(store.logger_config().tracking_uri))


@st.cache_resource(show_spinner=False)
def store_recorder(tracking_uri: str) -> Recorder:
    """One recorder (and run of ``artclf-serving``) per app process and store."""
    return record.open_recorder(store.connect(), tracking_uri)


@st.fragment
def feedback_panel(
    request_id: str, task: str, ranked: list[str], solicited: bool, path: Path
) -> None:
    """Under the top-k: "Is this right?" when the answer was drawn to be asked, else "Report a
    wrong answer"; a thumbs up confirms the prediction (``ranked[0]``), a thumbs down or a
    report asks for the right class. A fragment: answering reruns only this panel."""
    given = st.session_state.setdefault("feedback", {})
    if request_id in given:
        st.caption(f"Thanks: recorded as {markdown_text(display_name(given[request_id]))}.")
        return
    if not solicited:
        with st.expander("Report a wrong answer"):
            correction(request_id, task, ranked, solicited, path)
        return
    st.markdown("**Is this right?**")
    thumbs = st.feedback(
        "thumbs",
        key=f"thumbs-{request_id}",
        on_change=confirm,
        args=(request_id, task, ranked, path),
    )
    if thumbs == 0:
        correction(request_id, task, ranked, solicited, path)


def correction(request_id: str, task: str, ranked: list[str], solicited: bool, path: Path) -> None:
    """The right class (the model's others, ranked, named for people) and a submit button."""
    choice = st.selectbox(
        "The right class",
        ranked[1:],
        index=None,
        format_func=display_name,
        placeholder="Choose the right class",
        key=f"truth-{request_id}",
    )
    st.button(
        "Submit",
        key=f"submit-{request_id}",
        disabled=choice is None,
        on_click=send,
        args=(request_id, task, choice, solicited, path),
    )


def confirm(request_id: str, task: str, ranked: list[str], path: Path) -> None:
    if st.session_state[f"thumbs-{request_id}"] == 1:
        send(request_id, task, ranked[0], True, path)


def send(request_id: str, task: str, label: str, solicited: bool, path: Path) -> None:
    """Record ``label`` as the truth of the answer ``request_id`` (of ``path``), once per
    session."""
    record.give_feedback(recorder(), request_id, task, label, solicited, path)
    st.session_state.setdefault("feedback", {})[request_id] = label


def stylise_tab(client) -> None:
    cyclegans = store.model_choices(client, task="cyclegan")
    adains = store.model_choices(client, task="adain")
    names = [m for m in METHODS if METHODS[m].name != "cyclegan" or cyclegans]
    fast = next(i for i, m in enumerate(names) if METHODS[m].name == "adain")
    method_label = st.selectbox("Method", names, index=fast if adains else 0, key="stylise-method")
    method = METHODS[method_label]
    source = None
    options: dict = {}
    if method.name == "cyclegan":
        source = st.selectbox("Generator", cyclegans, format_func=short_name)
    if method.name == "gatys":
        options["steps"] = st.slider("Steps (loss evaluations)", 2, 300, 60, key="stylise-steps")
    if method.name == "adain":
        source = adain_options(adains, options)
    size = st.slider("Size (longer side, px)", 64, 384, 256, step=32, key="stylise-size")
    champion = next(iter(store.model_choices(client)), None)
    try:
        choices = examples(str(store.checkpoint_of(champion))) if champion else []
    except (FileNotFoundError, ValueError):
        choices = []
    columns = st.columns(3)
    with columns[0]:
        content_path = pick_image("Content", choices, "content")
        if content_path is not None:
            st.image(str(content_path), width=200)
    style_path = None
    if method.needs_style:
        with columns[1]:
            style_path = pick_image("Style", choices[::-1], "style")
            if style_path is not None:
                st.image(str(style_path), width=200)
    ready = content_path is not None and (style_path is not None or not method.needs_style)
    with columns[2]:
        go = st.button("Stylise", type="primary", disabled=not ready, key="stylise-go")
        if go:
            run_stylise(method_label, source, content_path, style_path, size, options)
        if "stylised" in st.session_state:
            st.image(st.session_state.stylised, caption="result", width=256)
            st.download_button(
                "Download result (PNG)", st.session_state.stylised, "stylised.png", "image/png"
            )


def adain_options(registered: list[str], options: dict) -> str | None:
    """The decoder (registered AdaIN model or checkpoint path), alpha and colour preservation."""
    choice = st.selectbox(
        "Decoder", [*registered, CHECKPOINT], format_func=short_name, key="adain-model"
    )
    source = choice
    if choice == CHECKPOINT:
        source = st.text_input("AdaIN checkpoint (.ckpt)", key="adain-ckpt") or None
        if not registered and not source:
            st.info("No AdaIN decoder is registered: `python -m artclf.train experiment=adain`.")
    options["alpha"] = st.slider("Style strength (alpha)", 0.0, 1.0, 1.0, 0.05, key="adain-alpha")
    options["preserve_colour"] = st.toggle("Keep the content's colours", key="adain-colour")
    return source


def run_stylise(method_label, source, content_path, style_path, size, options) -> None:
    """Run the method with a live progress bar and intermediate images."""
    method = METHODS[method_label]
    try:
        network = loaded_network(method_label, source)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        st.error(f"error: {error}")
        return
    content = image_io.read_image_tensor(str(content_path), size)
    style = image_io.read_image_tensor(str(style_path)) if style_path else None
    bar = st.progress(0.0, text="starting …")
    preview = st.empty()

    def progress(done: float, image: torch.Tensor | None) -> None:
        bar.progress(done, text=f"{done:.0%}")
        if image is not None:
            preview.image(image_io.to_pil(image), caption=f"after {done:.0%}", width=256)

    output = method.run(content, style, options, progress, network)
    bar.empty()
    preview.empty()
    buffer = io.BytesIO()
    image_io.to_pil(output).save(buffer, format="PNG")
    st.session_state.stylised = buffer.getvalue()


def runs_tab(client) -> None:
    names = store.experiments(client)
    if not names:
        st.info("No experiments yet: `make run` trains and logs one.")
        return
    default = str(store.logger_config().experiment_name)
    index = names.index(default) if default in names else 0
    experiment = st.selectbox("Experiment", names, index=index, key="runs-experiment")
    tables = store.runs_tables(client, experiment)
    if not tables:
        st.info(f"No finished training runs in {markdown_text(experiment)}.")
        return
    for title, table in tables.items():
        st.subheader(markdown_text(title))
        st.dataframe(table, column_config=runs_columns(table), hide_index=True)
    url = store.experiment_url(client, experiment)
    st.caption(
        f"Ranked by each run's best epoch. [All runs of {markdown_text(experiment)} in the "
        f"MLflow UI]({url}); it serves {store.MLFLOW_UI} once started with `make ui`."
    )


def runs_columns(table) -> dict:
    """Percent columns written as percentages, the link column as a link."""
    percents = {
        c: st.column_config.NumberColumn(c, format="%.1f %%") for c in store.percent_columns(table)
    }
    link = st.column_config.LinkColumn("open in MLflow", display_text="open run")
    return {**percents, "open in MLflow": link}


def main() -> None:
    client = store.connect()
    classify_page, stylise_page, runs_page = st.tabs(["Classify", "Stylise", "Runs"])
    with classify_page:
        classify_tab(client)
    with stylise_page:
        stylise_tab(client)
    with runs_page:
        runs_tab(client)
