"""Plumbing shared by the command modules: global options, settings, the engine, file reads.

The command line acts as a local operator: its audit actor is ``cli:<os user>``
(:meth:`facesearch.audit.AuditContext.local_operator`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from facesearch.audit import AuditContext, trail
from facesearch.errors import ConfigurationError, FaceSearchError
from facesearch.settings import Settings

if TYPE_CHECKING:
    from facesearch.service import FaceSearch

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Purpose = Annotated[
    str,
    typer.Option("--purpose", help="Why this search is run (recorded in the audit log)."),
]
Case = Annotated[str, typer.Option("--case", help="Case reference (recorded in the audit log).")]
Authorization = Annotated[
    str,
    typer.Option(
        "--authorization",
        help="Reference of the warrant, order or approval (recorded in the audit log).",
    ),
]


class State:
    data_dir: Path | None = None
    verbose: bool = False


state = State()


def settings(**overrides: Any) -> Settings:
    """The settings (environment, ``--data-dir``); an invalid one is a
    :class:`ConfigurationError` naming the setting (exit 3), its value never repeated."""
    if state.data_dir is not None:
        overrides.setdefault("data_dir", state.data_dir)
    try:
        return Settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        name = "__".join(str(part) for part in first["loc"]).upper()
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ConfigurationError(
            f"invalid setting FACESEARCH_{name}: {first['msg']}{more}"
        ) from err


def engine(custom: Settings | None = None) -> FaceSearch:
    from facesearch.service import FaceSearch

    return FaceSearch(custom if custom is not None else settings())


def operator(
    *, purpose: str | None = None, case: str | None = None, authorization: str | None = None
) -> AuditContext:
    """The audit context of this command line's user.

    A command that asks for it is about to write (reads need no context): from here on, a
    failure of the command that left no audit event with its code is audited by
    :func:`facesearch.cli.main.main` (the one place the command line maps errors)."""
    context = AuditContext.local_operator(
        purpose=purpose, case_reference=case, authorization_reference=authorization
    )
    command = trail.current()
    if command is not None and command.context is None:
        command.context = context
    return context


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError as err:
        raise FaceSearchError(f"{path} is a folder, not an image") from err
    except FileNotFoundError as err:
        raise FaceSearchError(f"no such file: {path}") from err
    except OSError as err:
        raise FaceSearchError(f"cannot read {path}: {err.strerror}") from err


def parse_time(option: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or time from option ``--<option>`` as an aware datetime (UTC unless
    the value names a zone)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise FaceSearchError(f"--{option}: not an ISO 8601 date or time: {value!r}") from err
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
