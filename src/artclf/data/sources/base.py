"""What every dataset reader returns: the ``Scan`` data model and the skip reasons.

A reader only knows its on-disk layout: it turns a root folder into a table of
records (one row per image, with raw label columns) and counts what it skipped.
Label schemes, splitting and image decoding happen downstream. The filesystem checks
readers share are in ``files``, the repair of mis-encoded names in ``names``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from artclf.data.sources.names import nfc

#: Reasons a file is left out, as counted in ``Scan.skipped`` and printed by ``describe``.
SKIP_REASONS = (
    "not_image",  # wrong extension, hidden file (.DS_Store, ._foo.jpg), folder
    "empty",  # zero bytes
    "missing",  # named by a CSV/split file but absent on disk
    "broken_link",  # a symlink to nothing, or in a loop
    "bad_name",  # a file name that is not valid UTF-8 (cannot be a label, path or key)
    "unreadable",  # not decodable as an image
    "truncated",  # decoding stopped early
    "too_large",  # more pixels than artclf.data.images.MAX_PIXELS: refused before decoding
    "duplicate",  # same content as an earlier file (where a reader deduplicates)
    "held_out_artwork",  # an extra folder's copy of a work (or image) in validation or test
    "unlabelled",  # no label under the chosen scheme (e.g. unknown genre dropped)
)


class DatasetLayoutError(ValueError):
    """The root does not look like the expected layout; the message says what was expected."""


@dataclass
class Listing:
    """Images per class that a download's own file claims (ArtStation's ``class_weights.csv``);
    the pipeline compares it with the readable images, which only decoding reveals."""

    file: str
    column: str  # the raw label column it counts
    counts: dict[str, int | None]  # class -> claimed images (None where the file gives none)


@dataclass
class Scan:
    """Records of one dataset root.

    ``records`` has a ``path`` column (absolute ``str``), a ``split`` column (``"train"``,
    ``"val"``, ``"test"`` where the download defines it, else ``""``) and one column per raw
    label the layout provides (e.g. ``style``, ``artist``). ``skipped`` counts left-out files
    by reason (keys from ``SKIP_REASONS``). Label values and the keys of ``class_weights`` and
    ``listing`` are made NFC here, once for every reader: they come from folder names, file
    names and CSVs, which spell them differently.
    """

    records: pd.DataFrame
    skipped: Counter = field(default_factory=Counter)
    class_weights: dict[str, float] | None = None  # per raw label value, if the layout ships them
    #: Splits that hold for one label column only (ArtGAN ships separate style, genre and
    #: artist train/val files); indexed like ``records``.
    split_by_label: dict[str, pd.Series] = field(default_factory=dict)
    #: Skips that hold for one label column only (rows of ArtGAN's artist files that name no
    #: file on disk are missing for ``labels=artist``, not for ``labels=style``).
    skipped_by_label: dict[str, Counter] = field(default_factory=dict)
    listing: Listing | None = None
    #: The sha256 of the images whose content is known without reading them, by path (a
    #: feedback folder names its images by it): a byte copy of a validation or test image
    #: among them never trains.
    content: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for column in self.label_columns:
            self.records[column] = self.records[column].map(
                lambda value: nfc(value) if isinstance(value, str) else value
            )
        if self.class_weights is not None:
            self.class_weights = {nfc(k): w for k, w in self.class_weights.items()}
        if self.listing is not None:
            self.listing.counts = {nfc(k): n for k, n in self.listing.counts.items()}

    @property
    def label_columns(self) -> list[str]:
        return [c for c in self.records.columns if c not in ("path", "split")]

    def skipped_for(self, columns: list[str]) -> Counter:
        """What was skipped for a run labelled by ``columns``."""
        skipped = Counter(self.skipped)
        for column in columns:
            skipped.update(self.skipped_by_label.get(column, Counter()))
        return skipped

    def records_for(self, column: str) -> pd.DataFrame:
        """``records`` with the ``split`` the download defines for the label ``column``."""
        if column not in self.split_by_label:
            return self.records
        return self.records.assign(split=self.split_by_label[column])


#: The split of the images of every folder but the first in ``data.root=[A,B]``: training
#: images that the split assignment never moves to validation or test (``data.splits``).
EXTRA = "extra"


def merge_scans(scans: list[Scan]) -> Scan:
    """Several roots as one scan: their records (classes matched by name), the images of
    every root after the first marked ``EXTRA``, skips and listings added up."""
    records = []
    for i, scan in enumerate(scans):
        table = scan.records.copy()
        if i:
            table["split"] = EXTRA
        records.append(table)
    skipped: Counter = Counter()
    for scan in scans:
        skipped.update(scan.skipped)
    weights = [s.class_weights for s in scans if s.class_weights is not None]
    return Scan(
        pd.concat(records, ignore_index=True),
        skipped,
        class_weights=weights[0] if len(weights) == 1 else None,
        content={path: digest for scan in scans for path, digest in scan.content.items()},
    )
