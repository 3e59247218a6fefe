"""PNG plots of the usage report (matplotlib's object API on an Agg canvas: no pyplot, so
no global figure state, and safe to call from the web server's threads).

Each plot is a bar chart; :func:`render_plots` returns the PNG bytes by file name and
:func:`write_plots` writes them to a folder.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from facesearch.oversight.usage import UsageReport

PLOT_NAMES = (
    "searches_per_day.png",
    "searches_by_category.png",
    "searches_by_user.png",
    "candidate_similarities.png",
)
"""The files :func:`render_plots` makes, in order."""

MAX_BARS = 20
"""Users beyond the busiest ``MAX_BARS`` are summed in one "others" bar."""


def _bar_png(
    counts: Mapping[str, int],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    rotate: bool = False,
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = list(counts)
    values = [counts[k] for k in labels]
    height = max(3.5, 0.35 * len(labels) + 1.5) if horizontal else 4.0
    fig = Figure(figsize=(7.0, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if not labels:
        ax.text(0.5, 0.5, "nothing in this period", ha="center", va="center")
        ax.set_axis_off()
    elif horizontal:
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color="#3b6ea5")
        ax.set_yticks(positions, labels)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(ylabel)
        ax.set_ylabel(xlabel)
    else:
        positions = list(range(len(labels)))
        ax.bar(positions, values, color="#3b6ea5", width=0.8)
        step = max(1, len(labels) // 15)
        ax.set_xticks(positions[::step], labels[::step], rotation=60 if rotate else 0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _top(counts: Mapping[str, int], limit: int) -> dict[str, int]:
    items = list(counts.items())
    if len(items) <= limit:
        return dict(items)
    top = dict(items[: limit - 1])
    top["others"] = sum(v for _, v in items[limit - 1 :])
    return top


def render_plots(report: UsageReport) -> dict[str, bytes]:
    """PNG bytes of each plot of :data:`PLOT_NAMES`, by name."""
    s, period = report.searches, f"{report.period_from[:10]} to {report.period_to[:10]}"
    return {
        "searches_per_day.png": _bar_png(
            s.by_day,
            title=f"Searches per day (UTC), {period}",
            xlabel="day",
            ylabel="searches",
            rotate=True,
        ),
        "searches_by_category.png": _bar_png(
            s.by_category,
            title="Searches by purpose category",
            xlabel="category",
            ylabel="searches",
            horizontal=True,
        ),
        "searches_by_user.png": _bar_png(
            _top(s.by_user, MAX_BARS),
            title="Searches by user",
            xlabel="user",
            ylabel="searches",
            horizontal=True,
        ),
        "candidate_similarities.png": _bar_png(
            report.candidates.histogram if report.candidates.returned else {},
            title="Similarities of candidates returned (cosine)",
            xlabel="similarity",
            ylabel="candidates",
            rotate=True,
        ),
    }


def write_plots(report: UsageReport, folder: Path) -> list[Path]:
    """Write every plot of :func:`render_plots` to ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in render_plots(report).items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
