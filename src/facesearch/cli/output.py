"""Rendering for the CLI: rich tables for people, JSON for scripts. The only place that prints.

Everything printed here is plain text: labels, gallery names, references, purposes, notes,
file names and messages come from users and the store, so neither rich's console markup
(``[bold]``, ``[/]``, ``[link=...]``) nor its emoji codes (``:fire:``) are interpreted
anywhere; each table cell, title and line is a :class:`rich.text.Text` printed by
consoles that have markup, emoji and highlighting off.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_PLAIN: dict[str, Any] = {"soft_wrap": True, "markup": False, "emoji": False, "highlight": False}
stdout = Console(**_PLAIN)
stderr = Console(stderr=True, **_PLAIN)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, datetimes, paths and bytes into JSON-friendly values (bytes dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not isinstance(getattr(value, f.name), bytes | bytearray)
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")


def plain(value: object) -> Text:
    """``value`` as text that is shown as it is (``None`` as empty): no markup, no emoji."""
    return Text("" if value is None else str(value))


#: Longest cell of a column that is never folded: ids, similarities, rates, times, counts.
ATOM_MAX = 32


def _number_like(cell: str) -> bool:
    """A number (``2.4e-07``, ``0.9612``, ``17``) or a token mostly of digits (a time,
    a date, a percentage)."""
    if not cell or len(cell) > ATOM_MAX or any(ch.isspace() for ch in cell):
        return False
    try:
        float(cell)
    except ValueError:
        return sum(ch.isdigit() for ch in cell) * 2 >= len(cell)
    return True


def _atomic(cells: list[str]) -> bool:
    """A column of numbers, ids, times (empty cells allowed): folding one mid-token would
    change what it reads as (``2.4e-0`` / ``7``), so such a column is never wrapped."""
    present = [c for c in cells if c]
    return bool(present) and all(_number_like(c) for c in present)


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table on stdout; the title, headers and every cell are shown as plain text, and
    in full: a long text cell is folded onto more lines, never cut, while a column of
    numbers, ids or times is never split (:func:`_atomic`). Header words stay whole too
    when the terminal is wide enough for all of them.

    Column widths are set here rather than by rich, whose layout keeps a text column at
    least as wide as its longest word and then overflows a narrow terminal."""
    cells = [["" if row[i] is None else str(row[i]) for row in rows] for i in range(len(columns))]
    atomic = [_atomic(c) for c in cells]
    words = [max((len(w) for w in column.split()), default=1) for column in columns]
    natural = [max([len(column), *map(len, c)]) for column, c in zip(columns, cells, strict=True)]
    room = stdout.width - (3 * len(columns) + 1)
    values = [max(map(len, c)) if a else 3 for c, a in zip(cells, atomic, strict=True)]
    keep_words = sum(map(max, values, words)) <= room
    floors = list(map(max, values, words)) if keep_words else values
    widths = list(floors)
    text = [i for i, a in enumerate(atomic) if not a]
    extra = room - sum(widths)
    wanted = sum(max(0, natural[i] - floors[i]) for i in text)
    for i in text:  # what is left, shared by how much more each text column would take
        more = max(0, natural[i] - floors[i])
        widths[i] += more if wanted <= extra else max(0, extra) * more // wanted
    table = Table(title=plain(title), show_lines=False)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(plain(column), overflow="fold", width=max(1, width))
    for row in rows:
        table.add_row(*[plain(v) for v in row])
    stdout.print(table)


def info(message: str) -> None:
    """One message on stdout, shown as plain text."""
    stdout.print(plain(message))


def error(message: str) -> None:
    """One line on stderr (``error: ...``), shown as plain text."""
    stderr.print(plain(f"error: {message}"))


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``update(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        plain(description).plain,
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
