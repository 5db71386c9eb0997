"""ArtGAN's split files: ``<scheme>_train``/``_val`` (``path,idx`` or ``path,,idx``, CRLF,
optional header and blank lines, duplicated rows) and ``<scheme>_class`` (``idx Name``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def find_split_file(scheme: str, part: str, bases: Iterable[Path]) -> Path | None:
    """``<scheme>_<part>`` with any extension, in ``<base>/<Scheme>/`` or ``<base>/``."""
    wanted = f"{scheme}_{part}"
    for base in dict.fromkeys(b for b in bases if b.is_dir()):
        folders = [base, *(d for d in base.iterdir() if d.is_dir() and d.name.lower() == scheme)]
        for folder in folders:
            for path in sorted(folder.iterdir()):
                if path.name.lower().split(".")[0] == wanted and path.is_file():
                    return path
    return None


def read_split_file(path: Path) -> pd.DataFrame:
    """Rows ``path, idx`` (``idx`` a string); header and blank lines dropped. Split from the
    right, so a comma inside a file name stays part of the path."""
    pairs = _lines(path).str.rsplit(",", n=1, expand=True)
    if pairs.shape[1] < 2:
        return pd.DataFrame({"path": pd.Series(dtype=str), "idx": pd.Series(dtype=str)})
    table = pd.DataFrame({"path": pairs[0].str.rstrip(", "), "idx": pairs[1].str.strip()})
    return table[table["idx"].str.fullmatch(r"\d+", na=False)].reset_index(drop=True)


def read_class_names(path: Path) -> dict[str, str]:
    """``{"0": "Abstract_Expressionism", ...}`` from ``idx Name`` lines."""
    pairs = _lines(path).str.split(n=1, expand=True)
    if pairs.shape[1] < 2:
        return {}
    pairs = pairs[pairs[0].str.fullmatch(r"\d+", na=False) & pairs[1].notna()]
    return dict(zip(pairs[0], pairs[1].str.strip(), strict=True))


def _lines(path: Path) -> pd.Series:
    """Non-blank lines, stripped (CRLF or LF, with or without a BOM)."""
    lines = pd.Series(path.read_text(encoding="utf-8-sig", errors="replace").splitlines())
    lines = lines.str.strip()
    return lines[lines != ""].reset_index(drop=True)
