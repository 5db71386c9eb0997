"""The one way artclf gets an MLflow experiment: by name, created when missing, and tagged as
model training. MLflow 3's UI opens an experiment without ``mlflow.experimentKind`` as a GenAI
tool (a traces overview); with the tag it opens on the runs table a training suite needs."""

from __future__ import annotations

from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

#: MLflow's experiment-kind tag and its value for model training (the UI's runs-table view).
KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"


def _artifact_location(tracking_uri: str) -> str | None:
    """A SQLite store keeps its artifacts in ``mlartifacts/`` beside the database."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    return (db.parent / "mlartifacts").resolve().as_uri()


def experiment_id(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The id of experiment ``name``, created when missing (a parallel job may create it
    meanwhile), tagged as model training unless it already has a kind."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(
                name, _artifact_location(tracking_uri), tags={KIND_TAG: MODEL_TRAINING}
            )
        except MlflowException:  # created by a parallel job meanwhile, or a lost race
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if KIND_TAG not in found.tags:
        client.set_experiment_tag(found.experiment_id, KIND_TAG, MODEL_TRAINING)
    return found.experiment_id


#: MLflow 3's UI shows an experiment by the workflow its URL asks for, else by the person's
#: last choice (GenAI at first), whatever the kind tag says: our links ask for model training.
MODEL_TRAINING_VIEW = "workflowType=machine_learning"


def experiment_page(experiment_id: str) -> str:
    """The UI route of the experiment's runs table (relative: append it to the UI's address)."""
    return f"#/experiments/{experiment_id}/runs?{MODEL_TRAINING_VIEW}"


def run_page(experiment_id: str, run_id: str) -> str:
    """The UI route of one run's page, in the model-training view."""
    return f"#/experiments/{experiment_id}/runs/{run_id}?{MODEL_TRAINING_VIEW}"
