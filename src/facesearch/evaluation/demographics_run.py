"""``facesearch eval demographics``: NIST IR 8280-style differentials on LFW -> report."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.evaluation import plots
from facesearch.evaluation.calibrate import impostor_scores
from facesearch.evaluation.demographics import (
    GroupResult,
    cap_per_identity,
    group_rates,
    per_identity_counts,
    with_ratios,
)
from facesearch.evaluation.embedcache import (
    STATUS_DETECTED,
    EmbeddingSet,
    Recipe,
    embed_images,
    recipe_summary,
)
from facesearch.evaluation.lfw import IdentityLabels, Lfw, identity_of
from facesearch.evaluation.metrics import threshold_at_fmr
from facesearch.evaluation.reports import md_table, run_metadata, sci, write_json

logger = logging.getLogger(__name__)

#: Groups with fewer identities than this are reported but flagged as too small to read.
MIN_IDENTITIES_TO_READ = 20


def run_demographics(
    lfw: Lfw,
    recipe: Recipe,
    *,
    out_dir: Path,
    cache_dir: Path,
    workers: int = 2,
    progress: bool = False,
    target_fmrs: Sequence[float] = (1e-3, 1e-4),
    max_images_per_identity: int | None = 10,
    max_identities: int | None = None,
    n_boot: int = 2000,
    seed: int = 8280,
    command: str = "facesearch eval demographics",
) -> dict[str, Any]:
    """Embed LFW, set global thresholds, measure per-group FMR / FNMR, write the report."""
    started = time.perf_counter()
    labels = lfw.demographics()
    people = report_people(lfw, max_identities, seed)
    emb = embed_images(
        lfw.images,
        lfw.images_of(people),
        recipe,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
        description="embedding LFW",
    )
    paths, vectors, idents, n_detected = capped_set(emb, max_images_per_identity, seed)
    all_impostors = impostor_scores(vectors, idents)
    thresholds = [threshold_at_fmr(all_impostors, t) for t in target_fmrs]
    achieved = [float(np.mean(all_impostors >= t)) for t in thresholds]
    attributes = {
        "sex": {n: labels[n].sex for n in set(idents) if n in labels},
        "race": {n: r for n in set(idents) if n in labels and (r := labels[n].race)},
    }
    results: dict[str, dict[str, list[GroupResult]]] = {}
    distributions: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for attribute, mapping in attributes.items():
        results[attribute] = {}
        distributions[attribute] = {}
        per_target: list[list[GroupResult]] = [[] for _ in thresholds]
        for g_i, group in enumerate(sorted(set(mapping.values()))):
            rows = [i for i, n in enumerate(idents) if mapping.get(n) == group]
            group_names, codes = np.unique([idents[i] for i in rows], return_inverse=True)
            e = vectors[rows]
            counts = per_identity_counts(
                e, codes.astype(np.int64), thresholds, n_identities=len(group_names)
            )
            for j, c in enumerate(counts):
                per_target[j].append(
                    group_rates(
                        c, group=group, images=len(rows), n_boot=n_boot, seed=seed + 10 * g_i + j
                    )
                )
            if len(group_names) >= MIN_IDENTITIES_TO_READ:
                distributions[attribute][group] = _distributions(e, codes, seed)
        for j, target in enumerate(target_fmrs):
            results[attribute][f"{target:g}"] = with_ratios(
                per_target[j], min_identities=MIN_IDENTITIES_TO_READ
            )
    summary: dict[str, Any] = {
        "method": "NIST IR 8280: one global threshold per target FMR over all impostor pairs; "
        "per-group FMR over same-group impostor pairs, FNMR over the group's genuine pairs; "
        f"95% intervals from {n_boot} bootstrap resamples of identities",
        "pipeline": recipe_summary(recipe),
        "images": {
            "embedded": len(emb),
            "without_face_left_out": len(emb) - n_detected,
            "used": len(paths),
            "max_images_per_identity": max_images_per_identity,
            "identities": len(set(idents)),
            "impostor_pairs": int(all_impostors.size),
        },
        "thresholds": [
            {"target_fmr": t, "threshold": th, "achieved_fmr": a}
            for t, th, a in zip(target_fmrs, thresholds, achieved, strict=True)
        ],
        "groups": results,
        "run": run_metadata(command, started),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _plots(summary, distributions, out_dir, thresholds[0], target_fmrs[0])
    write_json(out_dir / "demographics.json", summary)
    (out_dir / "report.md").write_text(_markdown(summary, labels))
    return summary


def report_people(lfw: Lfw, max_identities: int | None, seed: int = 8280) -> dict[str, int]:
    """The identities the report embeds: all, or a seeded sample of ``max_identities``."""
    people = lfw.identities()
    if max_identities is not None and max_identities < len(people):
        rng = np.random.default_rng(seed)
        # keep every multi-image identity's chance equal; sorted for determinism
        names = sorted(rng.choice(sorted(people), size=max_identities, replace=False).tolist())
        people = {n: people[n] for n in names}
    return people


def capped_set(
    emb: EmbeddingSet, max_images_per_identity: int | None, seed: int = 8280
) -> tuple[list[str], NDArray[np.float32], list[str], int]:
    """The images the report uses: those with a detected face, at most
    ``max_images_per_identity`` per identity (seeded). Returns ``(paths, embeddings (n, d),
    identities, images with a detected face before the cap)``."""
    detected = [i for i, s in enumerate(emb.status) if s == STATUS_DETECTED]
    ids_all = [identity_of(emb.paths[i]) for i in detected]
    keep = [
        detected[i]
        for i in cap_per_identity(
            [emb.paths[i] for i in detected], ids_all, max_images_per_identity, seed
        )
    ]
    paths = [emb.paths[i] for i in keep]
    return paths, emb.embeddings[keep], [identity_of(p) for p in paths], len(detected)


def _distributions(e: np.ndarray, codes: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Genuine scores and a sample of at most 200,000 impostor scores of one group."""
    sims = e @ e.T
    same = codes[:, None] == codes[None, :]
    upper = np.triu(np.ones_like(same), 1)
    genuine = sims[same & upper]
    impostor = sims[~same & upper]
    if impostor.size > 200_000:
        impostor = np.random.default_rng(seed).choice(impostor, 200_000, replace=False)
    return {"genuine": genuine, "impostor": impostor}


def _plots(
    summary: dict[str, Any],
    distributions: dict[str, dict[str, dict[str, np.ndarray]]],
    out_dir: Path,
    threshold: float,
    target: float,
) -> None:
    for attribute, by_target in summary["groups"].items():
        groups: list[GroupResult] = by_target[f"{target:g}"]
        for metric in ("fmr", "fnmr"):
            shown = [g for g in groups if getattr(g, metric) is not None]
            if not shown:
                continue
            rates = [getattr(g, metric) for g in shown]
            plots.group_rates_plot(
                [f"{g.group}\n({g.identities} ids)" for g in shown],
                [r.estimate for r in rates],
                [r.low for r in rates],
                [r.high for r in rates],
                out_dir / f"{metric}_by_{attribute}.png",
                title=f"{metric.upper()} by {attribute} at the global threshold for FMR {target:g}",
                ylabel=metric.upper(),
                reference=target if metric == "fmr" else None,
            )
        dist = {}
        for group, d in distributions[attribute].items():
            dist[f"{group} genuine"] = d["genuine"]
            dist[f"{group} impostor"] = d["impostor"]
        plots.score_histogram(
            dist,
            out_dir / f"scores_by_{attribute}.png",
            title=f"Similarity distributions by {attribute}",
            thresholds={f"FMR {target:g}": threshold},
        )


def _rate(r: Any) -> str:
    if r is None:
        return "n/a"
    return f"{sci(r.estimate)} [{sci(r.low)}, {sci(r.high)}] ({r.events:,}/{r.comparisons:,})"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _markdown(summary: dict[str, Any], labels: dict[str, IdentityLabels]) -> str:
    img = summary["images"]
    lines = [
        "# Demographic differentials on LFW",
        "",
        f"Command: `{summary['run']['command']}`",
        "",
        "Method: " + summary["method"] + ". Each table gives the rate, "
        "its 95% interval in brackets and the counts behind it (errors / comparisons), and "
        "the ratio to the lowest non-zero rate among groups of at least "
        f"{MIN_IDENTITIES_TO_READ} identities. Where a group has no errors at all, the upper "
        "bound is the Clopper-Pearson bound on its number of comparisons.",
        "",
        f"Data: {img['used']:,} images of {img['identities']:,} identities "
        f"(at most {img['max_images_per_identity']} images per identity, so that a few "
        f"much-photographed people do not dominate; {img['without_face_left_out']} images "
        f"with no detected face left out); {img['impostor_pairs']:,} impostor pairs in all.",
        "",
        md_table(
            ["target FMR", "global threshold", "FMR achieved over all impostors"],
            [
                [sci(t["target_fmr"]), f"{t['threshold']:.4f}", sci(t["achieved_fmr"])]
                for t in summary["thresholds"]
            ],
        ),
        "",
    ]
    for attribute, by_target in summary["groups"].items():
        for target, groups in by_target.items():
            lines += [
                f"## By {attribute}, threshold for FMR {target}",
                "",
                md_table(
                    [
                        "group",
                        "identities",
                        "images",
                        "FMR [95% CI] (false/pairs)",
                        "FMR ratio",
                        "FNMR [95% CI] (misses/pairs)",
                        "FNMR ratio",
                    ],
                    [
                        [
                            g.group
                            + (
                                " (too few to read)"
                                if g.identities < MIN_IDENTITIES_TO_READ
                                else ""
                            ),
                            g.identities,
                            g.images,
                            _rate(g.fmr),
                            _ratio(g.fmr_ratio_to_lowest),
                            _rate(g.fnmr),
                            _ratio(g.fnmr_ratio_to_lowest),
                        ]
                        for g in groups
                    ],
                ),
                "",
            ]
    lines += _caveats(labels)
    return "\n".join(lines)


def _caveats(labels: dict[str, IdentityLabels]) -> list[str]:
    n_race = sum(1 for v in labels.values() if v.race)
    n_groups = len({v.race for v in labels.values() if v.race})
    return [
        "## What these numbers do and do not show",
        "",
        "- **What they show:** how often this pipeline, at one fixed threshold, confuses two "
        "different people of the same group (FMR) and fails to match two photos of one person "
        "(FNMR), on LFW's photos, for each group, with intervals that reflect how many people "
        "each group holds.",
        "- **Same-group impostors.** Impostor pairs are drawn within a group, as NIST does, "
        "because people of one sex or race resemble each other more than people across "
        "groups; mixing groups would hide the differences.",
        "- **Small groups, wide intervals.** A single race label exists for only "
        f"{n_race} of LFW's 5,749 identities ({n_groups} labels), and most are labelled "
        "caucasian. Groups with "
        f"fewer than {MIN_IDENTITIES_TO_READ} identities are marked; with so few people, "
        "an interval can span an order of magnitude or the rate can be zero by chance. Do "
        "not rank such groups. Identities with more than one race label are left out of the "
        "race groups.",
        "- **Labels.** Sex is 'F' when the identity is in the manually verified "
        "female_names.txt list, otherwise 'M' (a handful may be wrong); race labels were "
        "assigned by others for a research dataset (USC SAIL mica-race-from-face), not "
        "self-identified, and a label does not describe a person's ancestry in any depth.",
        "- **The dataset.** LFW is a research benchmark of mostly frontal, well-lit press "
        "photos of public figures; its authors state that it is not demographically "
        "representative (few children, elderly people, women and some ethnic groups) and "
        "that results on it do not show fitness for any commercial or operational use. "
        "Rates here are not those of any deployment: photo quality, capture conditions and "
        "gallery composition change them.",
        "- **What they do not show:** causes. A differential may come from the model, the "
        "detector, image quality differences between groups in LFW, or label noise.",
        "",
        "Plots: `fmr_by_*.png`, `fnmr_by_*.png` (rates with 95% intervals at the first target "
        "FMR), `scores_by_*.png` (similarity distributions of the groups with at least "
        f"{MIN_IDENTITIES_TO_READ} identities).",
        "",
    ]
