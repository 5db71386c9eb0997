"""Write the scikit-image sample photos the AdaIN decoder trains on, as PNG files in a folder.

    python experiments/adain/skimage_photos.py /work/adain_runs/photos

The ten photos of the comparison (README) are left out, so they stay unseen content.
"""

from __future__ import annotations

import sys
from pathlib import Path

from artclf.style import image_io as io

TRAIN = ("brick", "grass", "gravel", "horse", "page", "text", "moon", "colorwheel", "cell", "logo")


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in TRAIN:
        io.to_pil(io.read_image_tensor(f"{io.SKIMAGE_PREFIX}{name}")).save(folder / f"{name}.png")
    print(f"{len(TRAIN)} photos in {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
