"""The MLflow Model an AdaIN training run logs: a ``pyfunc`` that takes image pairs (a
DataFrame with ``content`` and ``style`` columns of file paths, encoded bytes, base64 strings
or uint8 ``H×W×3`` arrays) and returns each content image in its style, as a uint8 ``H×W×3``
array.

``params``: ``alpha`` (0 keeps the content, 1 takes the style's statistics), ``size`` (the
content's longer side; default the training image size), ``preserve_colour`` (keep the
content's colours), the same knobs as ``python -m artclf.stylize method=adain``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

COLUMNS = ("content", "style")


def signature(image_size: int) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name) for name in COLUMNS]),
        params=ParamSchema(
            [
                ParamSpec("alpha", "double", 1.0),
                ParamSpec("size", "long", image_size),
                ParamSpec("preserve_colour", "boolean", False),
            ]
        ),
    )


class StyleTransfer(mlflow.pyfunc.PythonModel):
    """``predict`` returns one uint8 ``H×W×3`` array per (content, style) row."""

    def load_context(self, context) -> None:
        from artclf.style.adain_model import load_adain

        self.net = load_adain(context.artifacts["checkpoint"])

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        from artclf.publishing.classifier import read_rgb
        from artclf.style import image_io
        from artclf.style.colour import preserve_colour

        missing = [c for c in COLUMNS if c not in model_input]
        if missing:
            raise ValueError(f"the input DataFrame needs the columns {', '.join(COLUMNS)}")
        params = params or {}
        alpha, size = float(params.get("alpha", 1.0)), params.get("size")
        outputs = []
        with torch.no_grad():
            for content_item, style_item in zip(
                model_input["content"], model_input["style"], strict=True
            ):
                size_or_none = None if size is None else int(size)
                content = self.net.fit_size(image_io.from_pil(read_rgb(content_item), size_or_none))
                style = image_io.fit_to(
                    image_io.from_pil(read_rgb(style_item)), *content.shape[-2:]
                )
                output = self.net(content, [style], alpha).clamp(0, 1)
                if params.get("preserve_colour"):
                    output = preserve_colour(output, content)
                outputs.append(np.asarray(image_io.to_pil(output)))
        return outputs


def log_adain(
    ckpt_path: str | Path, config: dict[str, Any], content: bytes, style: bytes
) -> mlflow.models.model.ModelInfo:
    """Log the style-transfer model to the active run; one (content, style) pair of encoded
    images is the input example, which MLflow checks by loading the model and stylising it."""
    from artclf.publishing.classifier import log_packaged_model

    image_size = int(config["data"]["image_size"])
    metadata = {
        "artclf": {
            "kind": "style-transfer",
            "inputs": {"content": "image", "style": "image"},
            "preprocessing": {"size": f"content's longer side to {image_size} (param size)"},
        }
    }
    code = Path(__file__).with_name("adain_code.py")
    frame = pd.DataFrame({"content": [content], "style": [style]})
    return log_packaged_model(str(ckpt_path), config, code, signature(image_size), frame, metadata)
