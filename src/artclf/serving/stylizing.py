"""``POST /stylize`` answered in the inference worker, by a served AdaIN or CycleGAN.

Each request is drawn on its own (contents differ in size: no batch to stack), through the
steps ``python -m artclf.stylize`` takes, so a served image is the image the command writes:
the content resized to ``size`` on its longer side (AdaIN: cut to its encoder's stride), the
style resized and centre-cropped to cover it, one pass of the network. The options and their
defaults are the logged model's parameters (the card's ``options``). The answer is a PNG; the
record holds the digests of the images in and out, never their bytes.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from artclf.data.images import MAX_PIXELS, open_rgb
from artclf.serving.deployment import Deployment
from artclf.serving.inputs import MAX_SIZE, RequestError
from artclf.serving.kinds import ADAIN, CYCLEGAN
from artclf.serving.recording import STYLIZATION, Recorder, now
from artclf.serving.routing import CHAMPION
from artclf.serving.scoring import decoded, error_answer, metadata
from artclf.serving.settings import Settings
from artclf.serving.slots import TRACING, Slot
from artclf.style import image_io
from artclf.style.colour import preserve_colour
from artclf.style.cyclegan.apply import translate
from artclf.style.cyclegan.loader import DIRECTIONS


def answer_batch(
    deployment: Deployment, requests: list[dict], settings: Settings, recorder: Recorder | None
) -> list[dict[str, Any]]:
    """One answer per request, in order: ``/stylize``'s PNG and who drew it, or ``/metadata``;
    a request's mistake is its own ``{"error": ...}`` answer."""
    answers = []
    for request in requests:
        try:
            if request["op"] == "metadata":
                answers.append(metadata(deployment, settings))
            else:
                answers.append(stylize(deployment.champion, request, recorder))
        except RequestError as error:
            answers.append(error_answer(error))
    return answers


def stylize(slot: Slot, request: dict, recorder: Recorder | None) -> dict[str, Any]:
    """The request's image drawn by ``slot``: the PNG, its size and who drew it; recorded."""
    options = chosen(slot, request["options"])
    content = decoded(open_rgb, request["content"], "content image")
    style = None if request["style"] is None else decoded(open_rgb, request["style"], "style image")
    drawn = RUNNERS[slot.kind](slot.module, content, style, options)
    png = encoded(drawn)
    height, width = drawn.shape[-2:]
    answer = {
        "request_id": request["request_id"],
        "model": slot.name,
        "version": slot.version,
        "alias": slot.alias,
        "route": CHAMPION,
        "width": width,
        "height": height,
        "png": png,
    }
    if recorder is not None:
        latency = (time.time() - request["received"]) * 1000
        recorder.put(record(slot, request, options, answer, latency))
    return answer


def chosen(slot: Slot, given: dict[str, Any]) -> dict[str, Any]:
    """The model's options (its defaults for those not given), each checked."""
    defaults = slot.card["options"]
    for name in given:
        if name not in defaults:
            raise RequestError(
                400, f"{slot.uri} takes no option {name!r}; it takes {', '.join(defaults)}"
            )
    return {**defaults, **{name: OPTIONS[name](value) for name, value in given.items()}}


def _alpha(value: Any) -> float:
    alpha = _number(value, float)
    if not 0.0 <= alpha <= 1.0:
        raise RequestError(400, f"alpha={value!r}; from 0 (the content) to 1 (the full style)")
    return alpha


def _size(value: Any) -> int:
    size = _number(value, int)
    if not image_io.MIN_SIDE <= size <= MAX_SIZE:
        raise RequestError(
            400,
            f"size={value!r}; the output's longer side in pixels, a whole number from "
            f"{image_io.MIN_SIDE} to {MAX_SIZE}",
        )
    return size


def _number(value: Any, kind: type) -> Any:
    """``value`` (JSON or text) as ``kind``; NaN, which every range check refuses, when it is
    not one (a bool, a fraction for an int, words)."""
    try:
        number = kind(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return math.nan
    return number if kind is not int or number == float(value) else math.nan


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise RequestError(400, f"preserve_colour={value!r}; true or false")
    return text in ("true", "1")


def _direction(value: Any) -> str:
    if value not in DIRECTIONS:
        raise RequestError(400, f"direction={value!r}; a2b (domain A to B) or b2a")
    return value


#: Each option a style model may take, checked into its type.
OPTIONS: dict[str, Callable[[Any], Any]] = {
    "alpha": _alpha,
    "size": _size,
    "preserve_colour": _flag,
    "direction": _direction,
}


def pixels(image: Image.Image, size: int | None, where: str) -> Tensor:
    """``(1, 3, H, W)`` in [0, 1] as ``stylize`` reads it (``size``: its longer side), refused
    when its shorter side is under what the encoders pool."""
    tensor = image_io.from_pil(image, size)
    if min(tensor.shape[-2:]) < image_io.MIN_SIDE:
        at = f" at size={size}" if size else ""
        raise RequestError(
            422,
            f"{where} is {image.width}×{image.height}, {min(tensor.shape[-2:])} px on its "
            f"shorter side{at}; send one at least {image_io.MIN_SIDE} px on each side{at}",
        )
    return tensor


def covering(style: Image.Image, height: int, width: int) -> Tensor:
    """The style resized and centre-cropped to cover ``height × width`` (``fit_to``), refused
    when covering would stretch it past the pixel limit (a thin strip to gigabytes)."""
    scale = max(height / style.height, width / style.width)
    stretched = max(height, round(style.height * scale)) * max(width, round(style.width * scale))
    if stretched > MAX_PIXELS:
        raise RequestError(
            422,
            f"style image is {style.width}×{style.height}: covering the {width}×{height} "
            f"content stretches it to {stretched:,} pixels, over the {MAX_PIXELS:,}-pixel "
            "limit; send a style image closer to the content's shape",
        )
    return image_io.fit_to(pixels(style, None, "style image"), height, width)


def run_adain(
    net: nn.Module, content: Image.Image, style: Image.Image | None, options: dict[str, Any]
) -> Tensor:
    """``net(content, [style], alpha)`` as ``stylize method=adain`` draws it."""
    if style is None:
        raise RequestError(
            400, 'AdaIN needs a style image: a second file (-F style=@b.jpg) or JSON "style"'
        )
    device = next(net.decoder.parameters()).device
    image = net.fit_size(pixels(content, options["size"], "content image")).to(device)
    fitted = covering(style, *image.shape[-2:]).to(device)
    with TRACING, torch.no_grad():  # not while another AdaIN is being built
        output = net(image, [fitted], options["alpha"]).clamp(0, 1)
    if options["preserve_colour"]:
        output = preserve_colour(output, image)
    return output.cpu()


def run_cyclegan(
    generators: nn.Module, content: Image.Image, style: Image.Image | None, options: dict[str, Any]
) -> Tensor:
    """The generator of ``direction`` on the content, as ``stylize method=cyclegan`` runs it."""
    if style is not None:
        raise RequestError(400, "a CycleGAN translates the content alone; send no style image")
    generator = generators[options["direction"]]
    device = next(generator.parameters()).device
    return translate(generator, pixels(content, options["size"], "content image").to(device)).cpu()


#: How each kind of style model draws: ``(network, content, style, options)`` to ``(1, 3, H, W)``.
RUNNERS = {ADAIN: run_adain, CYCLEGAN: run_cyclegan}


def encoded(image: Tensor) -> bytes:
    buffer = io.BytesIO()
    image_io.to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def record(
    slot: Slot, request: dict, options: dict[str, Any], answer: dict, latency_ms: float
) -> dict[str, Any]:
    """What was asked and drawn: digests and sizes of the images in and out (never their
    bytes), the options, who drew it, and how long the answer took."""

    def digest(data: bytes | None) -> str | None:
        return None if data is None else hashlib.sha256(data).hexdigest()

    style = request["style"]
    return {
        "kind": STYLIZATION,
        "request_id": request["request_id"],
        "index": 0,
        "time": now(),
        "route": answer["route"],
        "model": slot.name,
        "version": slot.version,
        "alias": slot.alias,
        "method": slot.kind,
        "content_sha256": digest(request["content"]),
        "content_bytes": len(request["content"]),
        "style_sha256": digest(style),
        "style_bytes": None if style is None else len(style),
        "options": options,
        "output_sha256": digest(answer["png"]),
        "width": answer["width"],
        "height": answer["height"],
        "latency_ms": round(latency_ms, 3),
    }
