"""Writing evaluation results: JSON (numpy-safe), Markdown tables, number formatting."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """Dataclasses, numpy arrays and scalars, paths and enums into JSON values.

    Non-finite floats become strings (``"inf"``, ``"-inf"``, ``"nan"``) so the JSON stays
    standard.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(value), indent=2) + "\n")
    return path


def md_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


def pct(value: float, digits: int = 2) -> str:
    """``0.9875`` -> ``"98.75%"``."""
    return f"{value * 100:.{digits}f}%" if math.isfinite(value) else str(value)


def sci(value: float, digits: int = 2) -> str:
    """A rate in compact scientific notation (``1.2e-04``), ``0`` kept as ``0``."""
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def run_metadata(command: str, started: float) -> dict[str, Any]:
    """When, how long, on what: stamped into every JSON result."""
    import os

    return {
        "command": command,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
