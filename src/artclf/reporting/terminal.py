"""Tables printed by the commands: a rich table on a terminal wide enough for it, else plain
aligned text (a pipe, a log file, a narrow terminal), which no width wraps into slivers of
one word per line and which ``grep``/``awk`` read a row per line."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from rich.console import Console
from rich.table import Table

from artclf.reporting.leaderboard import cell, numeric_columns

UNBOUNDED = 100_000


def rich_table(cells: pd.DataFrame, title: str, numeric: set[str]) -> Table:
    """Cells that never wrap: a table that does not fit is printed as plain text instead."""
    table = Table(title=title)
    for column in cells:
        table.add_column(column, no_wrap=True, justify="right" if column in numeric else "left")
    for row in cells.itertuples(index=False):
        table.add_row(*row)
    return table


def plain_table(cells: pd.DataFrame, title: str, numeric: set[str]) -> str:
    """The title, then a line per row, columns two spaces apart."""
    widths = {c: max([len(c), *(len(v) for v in cells[c])]) for c in cells}

    def line(values: Iterable[str]) -> str:
        padded = (
            v.rjust(widths[c]) if c in numeric else v.ljust(widths[c])
            for c, v in zip(cells, values, strict=True)
        )
        return "  ".join(padded).rstrip()

    return "\n".join([title, line(cells.columns), *map(line, cells.itertuples(index=False))])


def print_table(frame: pd.DataFrame, title: str) -> None:
    """``frame`` (numbers to 4 significant digits) as a rich table where the terminal fits it
    whole, else as plain text."""
    console = Console()
    cells, numeric = frame.map(cell), numeric_columns(frame)
    table = rich_table(cells, title, numeric)
    unbounded = console.options.update_width(UNBOUNDED)  # else the width caps the measure
    if console.is_terminal and console.measure(table, options=unbounded).maximum <= console.width:
        console.print(table)
    else:
        print(plain_table(cells, title, numeric))
