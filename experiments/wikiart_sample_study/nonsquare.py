"""Non-square real paintings made from the sample's own test split, for the resize study.

The sample's files are 224² squares squashed from paintings of every shape (a Hiroshige
triptych is squeezed to a square). From each test image this writes, in WikiArt layout
(``<out>/<variant>/wikiart/<Style>/<file>``, so ``evaluate eval_split=all data=wikiart``
reads it):

``crop34`` / ``crop43``        the central 3:4 (portrait) / 4:3 (landscape) part, 168×224 / 224×168
``stretch34`` / ``stretch43``  the whole image stretched to 3:4 / 4:3 (224×299 / 299×224): a
                               painting of that shape, as a scrape that keeps aspect ratio has it
                               (if its original had that shape)

    python experiments/wikiart_sample_study/nonsquare.py $ARTCLF_REAL_DATA /tmp/nonsquare
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from artclf.data.pipeline import label_records

VARIANTS = {
    "crop34": ("crop", 168, 224),
    "crop43": ("crop", 224, 168),
    "stretch34": ("stretch", 224, 299),
    "stretch43": ("stretch", 299, 224),
}


def make_variant(image: Image.Image, how: str, width: int, height: int) -> Image.Image:
    if how == "stretch":
        return image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def main(root: str, out: str) -> None:
    records = label_records("wikiart", root, labels="style", seed=42).split("test")
    for name, (how, width, height) in VARIANTS.items():
        for path, label in zip(records["path"], records["label"], strict=True):
            target = Path(out) / name / "wikiart" / label / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as image:
                make_variant(image.convert("RGB"), how, width, height).save(target, quality=95)
    print(f"{len(records)} test images x {len(VARIANTS)} variants under {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
