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

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

from artclf.style.cyclegan.apply import translate
from artclf.style.cyclegan.loader import check_direction

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


class ImageTranslator(mlflow.pyfunc.PythonModel):
    """``predict`` returns one uint8 ``H×W×3`` array per input image."""

    def load_context(self, context) -> None:
        from artclf.style.cyclegan.loader import load_cyclegan

        self.module = load_cyclegan(context.artifacts["checkpoint"]).eval()

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        from artclf.publishing.classifier import as_items, read_rgb
        from artclf.style import image_io

        params = params or {}
        direction = check_direction(str(params.get("direction", DEFAULT_DIRECTION)))
        generator = self.module.g_ab if direction == "a2b" else self.module.g_ba
        size = params.get("size")
        outputs = []
        for item in as_items(model_input):
            image = image_io.from_pil(read_rgb(item), None if size is None else int(size))
            outputs.append(np.asarray(image_io.to_pil(translate(generator, image))))
        return outputs


def log_cyclegan(
    ckpt_path: str | Path, config: dict[str, Any], example: bytes
) -> mlflow.models.model.ModelInfo:
    """Log the translator to the active run; ``example`` (one encoded image) is the input
    example, which MLflow checks by loading the saved model and translating it."""
    from artclf.publishing.classifier import IMAGE_COLUMN, log_packaged_model

    image_size = int(config["data"]["image_size"])
    metadata = {
        "artclf": {
            "kind": "image-translator",
            "directions": {"a2b": "domain A -> B", "b2a": "domain B -> A"},
            "domains": {k: config["data"].get(f"domain_{k}") for k in ("a", "b")},
            "preprocessing": {"size": f"longer side to {image_size} (param size)"},
        }
    }
    code = Path(__file__).with_name("cyclegan_code.py")
    frame = pd.DataFrame({IMAGE_COLUMN: [example]})
    return log_packaged_model(str(ckpt_path), config, code, signature(image_size), frame, metadata)
