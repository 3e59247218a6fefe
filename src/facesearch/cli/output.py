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


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table on stdout; the title, headers and every cell are shown as plain text, and
    in full: a cell too long for the terminal is folded onto more lines, never cut."""
    table = Table(title=plain(title), show_lines=False)
    for column in columns:
        table.add_column(plain(column), overflow="fold")
    for row in rows:
        table.add_row(*[plain(v) for v in row])
    stdout.print(table)


def info(message: str) -> None:
    """One message on stdout, shown as plain text."""
    stdout.print(plain(message))


def error(message: str) -> None:
    """One line on stderr (``error: ...``), shown as plain text."""
    stderr.print(plain(f"error: {message}"))
