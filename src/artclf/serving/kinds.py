"""What a registered version is, and which endpoint answers with it: a classifier
(``POST /predict``), an AdaIN or a CycleGAN (``POST /stylize``). The kind is read from the
checkpoint, by the hyper-parameter only that kind of network has (as each loader checks), so
every registered version has one, logged MLflow Model or not."""

from __future__ import annotations

from typing import Any

from artclf.serving.settings import Settings

CLASSIFIER, ADAIN, CYCLEGAN = "classifier", "adain", "cyclegan"
#: The hyper-parameter only each kind's checkpoint holds.
MARKERS = {CLASSIFIER: "class_names", ADAIN: "decoder_width", CYCLEGAN: "lambda_cycle"}
#: The routes that take each kind's requests (``/metadata`` and ``/health`` take every kind's).
ROUTES = {CLASSIFIER: ("/predict", "/feedback"), ADAIN: ("/stylize",), CYCLEGAN: ("/stylize",)}
#: Each kind in words, for messages.
DESCRIPTIONS = {
    CLASSIFIER: "an image classifier",
    ADAIN: "an AdaIN style-transfer model",
    CYCLEGAN: "a CycleGAN image translator",
}


def kind_of(hparams: dict[str, Any], uri: str) -> str:
    """The kind of a checkpoint with these hyper-parameters; a ValueError for one artclf does
    not serve."""
    for kind, marker in MARKERS.items():
        if marker in hparams:
            return kind
    raise ValueError(
        f"{uri} is not a model artclf serves (a classifier, AdaIN or CycleGAN checkpoint); "
        "python -m artclf.registry action=list shows the registered ones"
    )


def check_kinds(kinds: dict[str, str], settings: Settings) -> str:
    """The one kind the served URIs share. What only a classifier's answers have is refused
    for a style model: a challenger (the split and the shadow compare classifiers; a style
    model's alias moves are followed all the same) and kept images (for feedback)."""
    found = set(kinds.values())
    if len(found) > 1:
        said = " and ".join(f"{uri} is {DESCRIPTIONS[kind]}" for uri, kind in kinds.items())
        raise ValueError(f"{said}; serve.challenger must be another version of the same kind")
    (kind,) = found
    if kind == CLASSIFIER:
        return kind
    if settings.challenger is not None:
        raise ValueError(
            f"serve.challenger compares classifiers; {settings.model} is {DESCRIPTIONS[kind]}: "
            "serve it alone (the server follows @champion: python -m artclf.registry "
            "action=promote)"
        )
    if settings.keep_images:
        raise ValueError(
            f"serve.keep_images keeps images for classifier feedback; {settings.model} is "
            f"{DESCRIPTIONS[kind]}: drop serve.keep_images=true"
        )
    return kind
