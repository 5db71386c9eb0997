"""What a new user sees in the MLflow UI: one experiment per kind of run, each opening as model
training, derived runs linked to their source, the data as logged inputs, distinct run names,
Ctrl-C as KILLED."""

from __future__ import annotations

import signal
from pathlib import Path

import lightning as L
import mlflow
import pytest
from mlflow.tracking import MlflowClient

from artclf.evaluate import evaluate
from artclf.tracking import run_name, start_run
from artclf.tracking.experiments import KIND_TAG, MODEL_TRAINING, experiment_id, run_page
from artclf.tracking.trials import create_study_run
from artclf.train import train
from conftest import TINY_SYNTHETIC

SOURCE = Path(__file__).resolve().parents[2] / "src" / "artclf"

TRACKED = (*TINY_SYNTHETIC, "trainer.max_epochs=1", "trainer.accelerator=cpu")


@pytest.mark.parametrize("kind", ["train", "evaluate", "explain", "stylize"])
def test_each_kind_of_run_has_its_own_experiment(make_cfg, kind: str) -> None:
    assert make_cfg(config_name=kind).logger.experiment_name == f"artclf-{kind}"
    chosen = make_cfg("logger.experiment_name=mine", config_name=kind)
    assert chosen.logger.experiment_name == "mine"


def test_presets_name_their_study_and_the_command_line_still_wins(make_cfg) -> None:
    assert make_cfg("experiment=cyclegan_monet").logger.experiment_name == "artclf-cyclegan"
    assert make_cfg("experiment=zhang_resnet50").logger.experiment_name == "artclf-zhang"
    cfg = make_cfg("experiment=zhang_resnet50", "logger.experiment_name=x")
    assert cfg.logger.experiment_name == "x"


def test_training_logs_its_data_and_evaluation_links_back(make_cfg, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = make_cfg(*TRACKED, f"logger.tracking_uri={uri}")
    train(cfg)
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])

    tags = {i.dataset.name: {t.key: t.value for t in i.tags} for i in run.inputs.dataset_inputs}
    inputs = {tags[i.dataset.name]["mlflow.data.context"]: i for i in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["test", "train", "val"]
    train_input = inputs["train"]
    assert train_input.dataset.name == "synthetic/origin_style/train"  # as data=synthetic names it
    assert train_input.dataset.source == f'{{"uri": "{cfg.data.root}"}}'
    digest = train_input.dataset.digest
    # the digest is the fingerprint that names the prepared cache of these files
    assert (Path(cfg.data.cache_dir) / f"images-{digest}-32px-crop.npy").is_file()
    assert {i.dataset.digest for i in inputs.values()} == {digest}
    counts = {c: int(tags[i.dataset.name]["images"]) for c, i in inputs.items()}
    assert counts["test"] == 60 and counts["train"] + counts["val"] == 180  # 30 folders x 6

    ckpt = next((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))
    evaluate(make_cfg(f"ckpt_path={ckpt}", f"logger.tracking_uri={uri}", config_name="evaluate"))
    (derived,) = client.search_runs(
        [client.get_experiment_by_name("artclf-evaluate").experiment_id]
    )
    tags = derived.data.tags
    assert tags["artclf.source_run_id"] == run.info.run_id
    link = f"[{run.info.run_name}]({run_page(run.info.experiment_id, run.info.run_id)})"
    assert link in tags["mlflow.note.content"]
    assert "workflowType=machine_learning" in link  # the UI's model-training view
    created = [e for e in client.search_experiments() if e.name != "Default"]  # MLflow's own
    assert sorted(e.name for e in created) == ["artclf-evaluate", "artclf-train"]
    assert all(e.tags.get(KIND_TAG) == MODEL_TRAINING for e in created)


def test_every_experiment_the_suite_creates_or_reuses_is_model_training(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    older = client.create_experiment("made-before-the-tag")  # an older clone's experiment
    chosen = client.create_experiment("theirs", tags={KIND_TAG: "genai_development"})
    assert experiment_id(client, "made-before-the-tag", uri) == older
    assert experiment_id(client, "theirs", uri) == chosen
    create_study_run(uri, "artclf-tune", "lr")  # artclf.tune's study run
    kinds = {e.name: e.tags.get(KIND_TAG) for e in client.search_experiments()}
    assert kinds["made-before-the-tag"] == kinds["artclf-tune"] == MODEL_TRAINING
    assert kinds["theirs"] == "genai_development"  # a kind someone set is theirs
    # every experiment is made by that one function
    makers = [p for p in SOURCE.rglob("*.py") if "create_experiment(" in p.read_text()]
    assert makers == [SOURCE / "tracking" / "experiments.py"]


def test_repeated_runs_get_distinct_readable_names(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg(f"logger.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}")
    names = []
    for _ in range(3):
        with start_run(cfg) as run:
            names.append(run.info.run_name)
    assert names == [names[0], f"{names[0]}-2", f"{names[0]}-3"]


def test_a_cyclegan_apply_run_is_named_after_the_generator(make_cfg) -> None:
    cfg = make_cfg("ckpt_path=g.ckpt", "input=photos", "direction=b2a", config_name="stylize")
    assert run_name(cfg) == "cyclegan-b2a"


class _CtrlC(L.Callback):
    def on_train_batch_start(self, *args) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_marks_the_run_killed(make_cfg, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises((KeyboardInterrupt, SystemExit)):
            train(make_cfg(*TRACKED, f"logger.tracking_uri={uri}"), extra_callbacks=[_CtrlC()])
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores Ctrl-C after catching one
    assert mlflow.active_run() is None
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    assert run.info.status == "KILLED"
