"""The MLflow Model every classification run logs: a ``pyfunc`` that takes images (file paths,
encoded bytes or uint8 ``H×W×3`` arrays) and returns, per image and per head, the top-k labels
with probabilities.

It runs the very code ``python -m artclf.predict`` runs (the same decode, resize, normalisation
and network), so both give the same probabilities. artclf's own code travels inside the model
(``code_paths``) and its requirements are artclf's dependencies at the versions that trained it,
so ``mlflow models serve`` can build an environment from a package index, which has no artclf.
The weights travel inside the model as a slim checkpoint (no optimiser state), which
``artclf.tracking.registry.resolve_checkpoint`` also hands to ``ckpt_path=`` commands.

A served model never opens a file a request names: text is base64 image bytes, and file paths
are read only in a process that opted in (``PATHS_ENV``) and is not MLflow's scoring server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

from artclf.data.resize import checkpoint_resize
from artclf.weights.checkpoints import RUN_ID_KEY

#: Name of the logged model inside a run, and the keys of its artifacts.
MODEL_NAME = "model"
CHECKPOINT = "checkpoint"
CONFIG = "config"
IMAGE_COLUMN = "image"
DEFAULT_TOP_K = 5
#: Checkpoint entries that rebuild the network; optimiser and loop state are left out.
SLIM_KEYS = ("state_dict", "hyper_parameters", "pytorch-lightning_version", RUN_ID_KEY)

#: Set to 1 by an in-process caller that passes file paths; a model server's client cannot.
PATHS_ENV = "ARTCLF_PYFUNC_PATHS"
#: What MLflow's scoring server (``mlflow models serve``) sets in its process.
_MLFLOW_SERVING_ENV = "_MLFLOW_IS_IN_SERVING_ENVIRONMENT"

SIGNATURE = ModelSignature(
    # unnamed: a plain list of paths or bytes is accepted as well as a DataFrame
    inputs=Schema([ColSpec(AnyType())]),
    params=ParamSchema([ParamSpec("top_k", "long", DEFAULT_TOP_K)]),
)


def _names_a_file(text: str) -> bool:
    """Whether ``text`` is the path of a file. Base64 text of an image is not, and is often
    longer than any path may be, which the OS answers with ENAMETOOLONG, not False."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # ValueError: a NUL character
        return False


def served() -> bool:
    """Whether this process is MLflow's scoring server, whose inputs come from the network."""
    return os.environ.get(_MLFLOW_SERVING_ENV, "").lower() in ("true", "1")


def paths_opted_in() -> bool:
    """Whether the classifier may read file paths: only where an in-process caller set
    ``PATHS_ENV=1``, never in a scoring server."""
    return os.environ.get(PATHS_ENV) == "1" and not served()


def image_source(item: Any, paths: bool = False) -> str | Path | io.BytesIO | np.ndarray:
    """What a logged model's input item holds: a path (only where ``paths``), encoded bytes
    (base64 text once they went through JSON, as model serving sends them) as a readable
    buffer, or a checked uint8 ``H×W×3`` (or ×4) array. The one place the pyfunc models
    (classifier, CycleGAN, AdaIN) read their input kinds."""
    if isinstance(item, bytes | bytearray):
        return io.BytesIO(item)
    if paths and (isinstance(item, Path) or (isinstance(item, str) and _names_a_file(item))):
        return item
    if isinstance(item, str | Path):
        from PIL import Image

        try:
            encoded = base64.b64decode(str(item))
            Image.open(io.BytesIO(encoded)).close()  # reads the header only: is it an image?
            return io.BytesIO(encoded)
        except (binascii.Error, OSError):
            what = f"image {str(item)[:80]!r} is"
            raise FileNotFoundError(
                f"{what} neither a file nor base64-encoded image bytes"
                if paths
                else f"{what} not base64-encoded image bytes (file paths are read in-process "
                f"only, with {PATHS_ENV}=1)"
            ) from None
    array = np.asarray(item)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(
            f"an image array must be uint8 H×W×3 (or ×4); got {array.dtype} {array.shape}"
        )
    return array


def read_rgb(item: Any):
    """Any input kind (``image_source``) as a decoded RGB PIL image, at its own size: what the
    style-transfer models (CycleGAN, AdaIN) take. They read file paths anywhere but in a
    scoring server."""
    from PIL import Image

    from artclf.data.images import open_rgb, to_rgb

    source = image_source(item, paths=not served())
    if isinstance(source, np.ndarray):
        return to_rgb(Image.fromarray(source))
    return open_rgb(source)


def decode(item: Any, size: int, resize: str) -> np.ndarray:
    """One image as training saw it: ``size``×``size``×3 uint8, made square by the ``resize``
    policy training used (``artclf.data.images.read_square_rgb`` for every input kind)."""
    from PIL import Image

    from artclf.data.images import read_square_rgb, to_rgb
    from artclf.data.resize import fit

    source = image_source(item, paths=paths_opted_in())
    if not isinstance(source, np.ndarray):
        return read_square_rgb(source, size, resize)
    if source.shape == (size, size, 3):
        return source
    return fit(to_rgb(Image.fromarray(source)), size, resize)


def as_items(model_input: Any) -> Sequence[Any]:
    """The images of whatever ``predict`` was given: a DataFrame's ``image`` (else only)
    column, a list, an ``N×H×W×3`` array, or one image."""
    if isinstance(model_input, pd.DataFrame):
        if IMAGE_COLUMN not in model_input and len(model_input.columns) != 1:
            raise ValueError(f"the input DataFrame needs an {IMAGE_COLUMN!r} column")
        column = IMAGE_COLUMN if IMAGE_COLUMN in model_input else model_input.columns[0]
        return model_input[column].tolist()
    if isinstance(model_input, np.ndarray) and model_input.ndim == 4:
        return list(model_input)
    if isinstance(model_input, list | tuple | pd.Series):
        return list(model_input)
    return [model_input]


class ImageClassifier(mlflow.pyfunc.PythonModel):
    """``predict`` returns ``[{task: [{"label", "probability"}, ...]}]``, one dict per image,
    best first, each task named after its label column (``style``…). ``params={"top_k": k}``
    sets k. Images are bytes, base64 text or arrays; file paths only with ``PATHS_ENV=1``."""

    def load_context(self, context) -> None:
        from artclf.inference.classifier import load_module

        self.module = load_module(context.artifacts[CHECKPOINT])
        self.size = int(self.module.hparams.model["image_size"])
        self.resize = checkpoint_resize(self.module.hparams.get("data"))

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        from artclf.inference.classifier import predict_probabilities, top_labels

        top_k = int((params or {}).get("top_k", DEFAULT_TOP_K))
        if top_k < 1:
            raise ValueError(f"top_k={top_k}; must be at least 1")
        images = np.stack([decode(item, self.size, self.resize) for item in as_items(model_input)])
        return top_labels(self.module.tasks, predict_probabilities(self.module, images), top_k)


def data_fingerprint(records: pd.DataFrame, roots: list[str]) -> str:
    """sha256 (16 hex digits) of the images' paths below their root, their split and labels:
    two runs with the same fingerprint saw the same images in the same splits. (With several
    roots a path is ``<root number>/<path below it>``.)"""
    columns = ["path", "split", *sorted(c for c in records.columns if c.startswith("target"))]
    table = records[columns].copy()
    table["path"] = [_below(p, roots) for p in table["path"]]
    text = table.sort_values("path").to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _below(path: str, roots: list[str]) -> str:
    """``path`` below the root that holds it (``<root number>/…`` when there are several)."""
    for i, root in enumerate(roots):
        if Path(path).is_relative_to(root):
            relative = str(Path(path).relative_to(root))
            return relative if len(roots) == 1 else f"{i}/{relative}"
    raise ValueError(f"{path} is under none of the data roots {roots}")


def slim_checkpoint(ckpt_path: str | Path, target: Path) -> Path:
    """A copy of the checkpoint with what loading needs only (a third of an Adam checkpoint)."""
    state = torch.load(Path(ckpt_path), map_location="cpu", weights_only=True)
    torch.save({k: state[k] for k in SLIM_KEYS if k in state}, target)
    return target


def model_metadata(
    module, config: dict[str, Any], fingerprint: str, run_id: str | None
) -> dict[str, Any]:
    """What a user of the model must know without loading it: classes and preprocessing."""
    from artclf.data.augment import IMAGENET_MEAN, IMAGENET_STD

    return {
        "artclf": {
            "kind": "image-classifier",
            "tasks": module.tasks,
            "preprocessing": {
                "image_size": int(module.hparams.model["image_size"]),
                "resize": checkpoint_resize(module.hparams.get("data")),
                "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
                "channels": "RGB; transparency composited on white",
            },
            "model": config.get("model", {}).get("name"),
            "data_fingerprint": fingerprint,
            "source_run_id": run_id,
        }
    }


def requirements() -> list[str]:
    """What a fresh environment installs to run the model: artclf's own dependencies (its
    extras left out) at the versions installed here, which trained it. artclf itself is not
    among them (no package index has it): its code travels with the model (``code_paths``).
    Listed, not inferred: inferring re-imports the model in a subprocess (seconds)."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    pins = []
    for line in requires("artclf") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            pins.append(f"{requirement.name}=={version(requirement.name).split('+')[0]}")
    return pins


def package_copy(folder: Path) -> Path:
    """artclf's source (configs included, bytecode left out) copied under ``folder``: the
    ``code_paths`` entry that ships it with a model."""
    import artclf

    source = Path(artclf.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    return Path(shutil.copytree(source, folder / source.name, ignore=ignore))


def log_classifier(
    ckpt_path: str | Path,
    module,
    config: dict[str, Any],
    fingerprint: str,
    example: np.ndarray,
    run_id: str,
) -> mlflow.models.model.ModelInfo:
    """Log the pyfunc model to the active run (``run_id``, its metadata's source run).
    ``example`` (one uint8 image) becomes the input example as PNG bytes; logging it also
    checks that the saved model loads and predicts."""
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(example).save(png, format="PNG")
    code = Path(__file__).with_name("classifier_code.py")
    metadata = model_metadata(module, config, fingerprint, run_id)
    example_frame = pd.DataFrame({IMAGE_COLUMN: [png.getvalue()]})
    return log_packaged_model(ckpt_path, config, code, SIGNATURE, example_frame, metadata)


def log_packaged_model(
    ckpt_path: str,
    config: dict[str, Any],
    code: Path,
    signature: ModelSignature,
    example: pd.DataFrame,
    metadata: dict[str, Any],
) -> mlflow.models.model.ModelInfo:
    """Log a pyfunc model of artclf's shape to the active run: ``code`` (models-from-code),
    artclf's source (``code_paths``), the weights-only checkpoint and the config as artifacts,
    ``example`` (a row of encoded image bytes) as the input example; MLflow checks that the
    saved model loads and predicts."""
    from omegaconf import OmegaConf

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = slim_checkpoint(ckpt_path, Path(tmp) / "model.ckpt")
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(OmegaConf.to_yaml(config))
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(code),
            artifacts={CHECKPOINT: str(checkpoint), CONFIG: str(config_file)},
            signature=signature,
            input_example=example,
            pip_requirements=requirements(),
            code_paths=[str(package_copy(Path(tmp)))],
            metadata=metadata,
        )
