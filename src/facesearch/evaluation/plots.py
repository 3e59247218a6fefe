"""PNG plots for the evaluation reports (matplotlib, headless ``Agg`` backend).

Each function takes arrays, writes one PNG to ``path`` and returns ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _figure(width: float = 6.0, height: float = 4.5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return fig, ax


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def roc_plot(far: ArrayLike, tar: ArrayLike, path: Path, *, title: str, eer: float) -> Path:
    """TAR against FAR (log axis), with the EER noted."""
    fig, ax = _figure()
    f = np.asarray(far, dtype=np.float64)
    t = np.asarray(tar, dtype=np.float64)
    keep = f > 0
    ax.step(f[keep], t[keep], where="post", label=f"ROC (EER {eer:.2%})")
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate (impostor pairs accepted)")
    ax.set_ylabel("true accept rate (genuine pairs accepted)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def score_histogram(
    distributions: Mapping[str, ArrayLike],
    path: Path,
    *,
    title: str,
    thresholds: Mapping[str, float] | None = None,
    density: bool = True,
) -> Path:
    """Overlaid histograms of similarity distributions, with vertical threshold lines."""
    fig, ax = _figure()
    arrays = [np.asarray(v, dtype=np.float64) for v in distributions.values()]
    pooled = np.concatenate([a for a in arrays if a.size] or [np.zeros(1)])
    low = float(np.quantile(pooled, 0.001))
    bins = np.linspace(min(low, 0.999), 1.0, 101)  # cosine scores crowd near 1: zoom in
    for label, values in distributions.items():
        v = np.asarray(values, dtype=np.float64)
        if v.size:
            ax.hist(v, bins=bins, histtype="step", density=density, label=f"{label} (n={v.size:,})")
    for label, t in (thresholds or {}).items():
        ax.axvline(t, linestyle="--", linewidth=1, color="grey")
        ax.annotate(label, (t, ax.get_ylim()[1] * 0.6), rotation=90, fontsize=7, ha="right")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("density" if density else "pairs")
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no group large enough to plot", ha="center", transform=ax.transAxes)
    return _save(fig, path)


def fold_accuracy_plot(accuracies: ArrayLike, path: Path, *, title: str) -> Path:
    fig, ax = _figure(6.0, 3.5)
    a = np.asarray(accuracies, dtype=np.float64)
    ax.bar(np.arange(1, a.size + 1), a * 100)
    ax.axhline(a.mean() * 100, color="black", linewidth=1, label=f"mean {a.mean():.2%}")
    ax.set_ylim(max(0.0, a.min() * 100 - 2), 100)
    ax.set_xlabel("fold")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def cmc_plot(cmc: ArrayLike, path: Path, *, title: str) -> Path:
    fig, ax = _figure()
    c = np.asarray(cmc, dtype=np.float64)
    ax.plot(np.arange(1, c.size + 1), c * 100, marker="o")
    ax.set_xlabel("rank")
    ax.set_ylabel("mated searches with the mate at or above rank (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def det_plot(
    fpir: ArrayLike,
    fnir: ArrayLike,
    path: Path,
    *,
    title: str,
    points: Sequence[tuple[float, float]] = (),
) -> Path:
    """FNIR against FPIR (both log), NIST's identification DET, with marked points."""
    fig, ax = _figure()
    x = np.asarray(fpir, dtype=np.float64)
    y = np.asarray(fnir, dtype=np.float64)
    keep = (x > 0) & (y > 0)
    if not keep.any():  # e.g. a tiny run with no errors: nothing to show on log axes
        ax.text(
            0.5, 0.5, "no point with FPIR > 0 and FNIR > 0", ha="center", transform=ax.transAxes
        )
        ax.set_title(title)
        return _save(fig, path)
    ax.plot(x[keep], y[keep])
    for px, py in points:
        if px > 0 and py > 0:
            ax.plot([px], [py], "o", color="black")
            ax.annotate(
                f"FPIR {px:.3g}: FNIR {py:.3f}",
                (px, py),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, 4),
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FPIR (non-mated searches returning a candidate)")
    ax.set_ylabel("FNIR (mated searches missing the mate at rank 1)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def group_rates_plot(
    groups: Sequence[str],
    estimates: ArrayLike,
    lows: ArrayLike,
    highs: ArrayLike,
    path: Path,
    *,
    title: str,
    ylabel: str,
    reference: float | None = None,
) -> Path:
    """Per-group rates with 95% interval bars (log axis), optional reference line."""
    fig, ax = _figure(max(5.0, 1.0 + 0.9 * len(groups)), 4.0)
    est = np.asarray(estimates, dtype=np.float64)
    low = np.asarray(lows, dtype=np.float64)
    high = np.asarray(highs, dtype=np.float64)
    x = np.arange(len(groups))
    floor = max(float(np.min(est[est > 0], initial=1e-6)) / 10, 1e-7)
    e = np.maximum(est, floor)
    err = np.vstack([e - np.maximum(low, floor), np.maximum(high, floor) - e])
    ax.errorbar(x, e, yerr=np.maximum(err, 0), fmt="o", capsize=4)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1, label="target")
        ax.legend(fontsize=8)
    ax.set_xticks(x, list(groups), rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", axis="y", alpha=0.3)
    return _save(fig, path)


def calibration_plot(
    similarities: ArrayLike,
    fmrs: ArrayLike,
    path: Path,
    *,
    title: str,
    held_out: tuple[ArrayLike, ArrayLike] | None = None,
) -> Path:
    """The FMR table (log FMR against similarity), optionally with a held-out curve."""
    fig, ax = _figure()
    ax.plot(similarities, fmrs, marker=".", label="calibration table")
    if held_out is not None:
        ax.plot(held_out[0], held_out[1], linestyle="--", label="held-out identities")
    ax.set_yscale("log")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("false match rate at or above")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def det_compare_plot(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    marks: Sequence[float] = (),
) -> Path:
    """Several DET curves on one figure (both axes log): ``curves`` maps a label to
    ``(x, y)`` arrays (e.g. FMR and FNMR); vertical lines at ``marks`` on the x axis."""
    fig, ax = _figure(6.5, 4.8)
    shown = 0
    for label, (xs, ys) in curves.items():
        x = np.asarray(xs, dtype=np.float64)
        y = np.asarray(ys, dtype=np.float64)
        keep = (x > 0) & (y > 0)
        if keep.any():
            ax.plot(x[keep], y[keep], label=label, linewidth=1.4)
            shown += 1
    for m in marks:
        ax.axvline(m, color="grey", linestyle=":", linewidth=1)
    if shown == 0:
        ax.text(0.5, 0.5, "no point with both rates > 0", ha="center", transform=ax.transAxes)
    else:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def grouped_rates_plot(
    groups: Sequence[str],
    series: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]],
    path: Path,
    *,
    title: str,
    ylabel: str,
    reference: float | None = None,
) -> Path:
    """Per-group rates of several models side by side: ``series`` maps a model label to
    ``(estimates, lows, highs)``, each ``(len(groups),)`` (NaN: not measured). Bars on a
    log axis with 95% interval whiskers; a zero rate is drawn at a floor and marked."""
    fig, ax = _figure(max(6.0, 1.5 + 1.2 * len(groups)), 4.5)
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(groups), dtype=np.float64)
    values = [np.asarray(v[0], dtype=np.float64) for v in series.values()]
    positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values] or [np.zeros(0)])
    floor = max(float(positive.min()) / 10 if positive.size else 1e-6, 1e-8)
    for i, (label, (est, low, high)) in enumerate(series.items()):
        e = np.asarray(est, dtype=np.float64)
        lo = np.asarray(low, dtype=np.float64)
        hi = np.asarray(high, dtype=np.float64)
        shown = np.where(np.isfinite(e), np.maximum(e, floor), np.nan)
        err = np.vstack(
            [
                np.clip(shown - np.maximum(lo, floor), 0, None),
                np.clip(np.maximum(hi, floor) - shown, 0, None),
            ]
        )
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, shown - floor, width=width, bottom=floor, label=label)
        ax.errorbar(pos, shown, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=2)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1, label="target")
    ax.set_xticks(x, list(groups), rotation=15)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", axis="y", alpha=0.3)
    return _save(fig, path)
