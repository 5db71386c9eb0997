"""The MLflow Model a CycleGAN training run logs: a ``pyfunc`` that takes images (file paths,
encoded bytes, base64 strings or uint8 ``H×W×3`` arrays) and returns each one translated, as a
uint8 ``H×W×3`` array.

One model holds both generators, and ``params={"direction": "a2b" | "b2a"}`` picks one: the two
are trained together (each is the other's cycle), so one registered version is one training
run, and a served endpoint offers both ways. ``params={"size": n}`` sets the longer side the
image is resized to first (default: the training image size), as ``stylize size=`` does; the
images go through the very code ``python -m artclf.stylize ckpt_path=…`` runs.
"""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema
from PIL import Image

from artclf.models.cyclegan.apply import translate
from artclf.models.cyclegan.loader import check_direction

DEFAULT_DIRECTION = "a2b"


def signature(image_size: int) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType())]),
        params=ParamSchema(
            [
                ParamSpec("direction", "string", DEFAULT_DIRECTION),
                ParamSpec("size", "long", image_size),
            ]
        ),
    )


def open_image(item: Any) -> Image.Image:
    """A path, encoded bytes, base64 text (bytes after JSON) or a uint8 array, as RGB."""
    if isinstance(item, bytes | bytearray):
        return Image.open(io.BytesIO(item)).convert("RGB")
    if isinstance(item, Path) or (isinstance(item, str) and Path(item).is_file()):
        with Image.open(item) as image:
            return image.convert("RGB")
    if isinstance(item, str):
        try:
            return Image.open(io.BytesIO(base64.b64decode(item))).convert("RGB")
        except (binascii.Error, OSError):
            raise FileNotFoundError(
                f"image {item[:80]!r} is neither a file nor base64-encoded image bytes"
            ) from None
    array = np.asarray(item)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(
            f"an image array must be uint8 H×W×3 (or ×4); got {array.dtype} {array.shape}"
        )
    return Image.fromarray(array).convert("RGB")


class ImageTranslator(mlflow.pyfunc.PythonModel):
    """``predict`` returns one uint8 ``H×W×3`` array per input image."""

    def load_context(self, context) -> None:
        from artclf.models.cyclegan.loader import load_cyclegan

        self.module = load_cyclegan(context.artifacts["checkpoint"]).eval()

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        from artclf.style import image_io
        from artclf.tracking.pyfunc_model import as_items

        params = params or {}
        direction = check_direction(str(params.get("direction", DEFAULT_DIRECTION)))
        generator = self.module.g_ab if direction == "a2b" else self.module.g_ba
        size = params.get("size")
        outputs = []
        for item in as_items(model_input):
            image = image_io.from_pil(open_image(item), None if size is None else int(size))
            outputs.append(np.asarray(image_io.to_pil(translate(generator, image))))
        return outputs


def log_cyclegan(
    ckpt_path: str | Path, config: dict[str, Any], example: bytes
) -> mlflow.models.model.ModelInfo:
    """Log the translator to the active run; ``example`` (one encoded image) is the input
    example, which MLflow checks by loading the saved model and translating it."""
    from omegaconf import OmegaConf

    from artclf.tracking.pyfunc_model import (
        CHECKPOINT,
        CONFIG,
        IMAGE_COLUMN,
        MODEL_NAME,
        requirements,
        slim_checkpoint,
    )

    image_size = int(config["data"]["image_size"])
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = slim_checkpoint(ckpt_path, Path(tmp) / "model.ckpt")
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(OmegaConf.to_yaml(config))
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(Path(__file__).with_name("pyfunc_code.py")),
            artifacts={CHECKPOINT: str(checkpoint), CONFIG: str(config_file)},
            signature=signature(image_size),
            input_example=pd.DataFrame({IMAGE_COLUMN: [example]}),
            pip_requirements=requirements(),
            metadata={
                "artclf": {
                    "kind": "image-translator",
                    "directions": {"a2b": "domain A -> B", "b2a": "domain B -> A"},
                    "domains": {k: config["data"].get(f"domain_{k}") for k in ("a", "b")},
                    "preprocessing": {"size": f"longer side to {image_size} (param size)"},
                }
            },
        )
