"""The LFW dataset on disk: image paths, View 1 / View 2 protocol files, demographic labels.

Layout (see the dataset's README): ``<root>/lfw-deepfunneled/NAME/NAME_NNNN.jpg``,
``<root>/protocol/*.txt``, ``<root>/labels/*``. Image paths are handled relative to the
image folder (``NAME/NAME_NNNN.jpg``), which is also how embedding caches key them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facesearch.errors import ConfigurationError

#: Environment variable naming the dataset folder (CI sets it).
LFW_ENV = "FACESEARCH_LFW_DIR"
IMAGES = "lfw-deepfunneled"


def image_path(name: str, number: int) -> str:
    """``NAME/NAME_NNNN.jpg``: the relative path of image ``number`` (1-based) of ``name``."""
    return f"{name}/{name}_{number:04d}.jpg"


def identity_of(rel: str) -> str:
    """The identity (folder name) of a relative image path."""
    return rel.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Pair:
    """One protocol pair of relative image paths; ``fold`` is 0-based (View 1: always 0)."""

    a: str
    b: str
    same: bool
    fold: int


@dataclass(frozen=True, slots=True)
class IdentityLabels:
    """Demographic labels of one identity: ``sex`` ``"F"``/``"M"``; ``race`` or ``None``."""

    sex: str
    race: str | None


@dataclass(frozen=True, slots=True)
class Lfw:
    """An LFW folder. Build with :meth:`locate`."""

    root: Path

    @classmethod
    def locate(cls, root: Path | None = None) -> Lfw:
        """``root``, else ``$FACESEARCH_LFW_DIR``; raises :class:`ConfigurationError` if
        neither names a folder holding ``lfw-deepfunneled`` and ``protocol``."""
        if root is None:
            value = os.environ.get(LFW_ENV)
            if not value:
                raise ConfigurationError(f"no LFW folder: pass --lfw-dir or set {LFW_ENV}")
            root = Path(value)
        if not (root / IMAGES).is_dir() or not (root / "protocol").is_dir():
            raise ConfigurationError(f"{root} does not hold {IMAGES}/ and protocol/ (LFW)")
        return cls(root)

    @property
    def images(self) -> Path:
        return self.root / IMAGES

    @property
    def protocol(self) -> Path:
        return self.root / "protocol"

    # --- pairs ---------------------------------------------------------------------------
    def view2_pairs(self) -> list[Pair]:
        """LFW View 2 (``pairs.txt``): 10 folds of 300 matched + 300 mismatched pairs."""
        lines = (self.protocol / "pairs.txt").read_text().splitlines()
        n_folds, per_fold = (int(x) for x in lines[0].split())
        pairs = [_parse_pair(line, 0) for line in lines[1:] if line.strip()]
        if len(pairs) != n_folds * 2 * per_fold:
            raise ConfigurationError(f"pairs.txt holds {len(pairs)} pairs, expected more")
        return [Pair(p.a, p.b, p.same, i // (2 * per_fold)) for i, p in enumerate(pairs)]

    def view1_pairs(self, split: str) -> list[Pair]:
        """LFW View 1 pairs, ``split`` ``"train"`` (2,200) or ``"test"`` (1,000)."""
        name = {"train": "pairsDevTrain.txt", "test": "pairsDevTest.txt"}[split]
        lines = (self.protocol / name).read_text().splitlines()
        return [_parse_pair(line, 0) for line in lines[1:] if line.strip()]

    # --- identities ----------------------------------------------------------------------
    def identities(self) -> dict[str, int]:
        """Every identity with its image count (``lfw-names.txt``), sorted by name."""
        return _counts((self.protocol / "lfw-names.txt").read_text().splitlines())

    def view1_people(self, split: str) -> dict[str, int]:
        """View 1 identities (``peopleDevTrain.txt`` / ``peopleDevTest.txt``; disjoint)."""
        name = {"train": "peopleDevTrain.txt", "test": "peopleDevTest.txt"}[split]
        return _counts((self.protocol / name).read_text().splitlines()[1:])

    def images_of(self, people: dict[str, int]) -> list[str]:
        """Relative paths of all images of ``people`` (name -> count)."""
        return [image_path(name, n) for name, count in people.items() for n in range(1, count + 1)]

    # --- labels --------------------------------------------------------------------------
    def demographics(self) -> dict[str, IdentityLabels]:
        """Sex (all identities) and single race label (where labelled) per identity, from
        ``labels/lfw_identity_demographics.csv``. Identities with several race labels get
        ``race=None`` (only ``race_primary_single`` is used)."""
        path = self.root / "labels" / "lfw_identity_demographics.csv"
        if not path.is_file():
            raise ConfigurationError(f"no demographic labels at {path}")
        out = {}
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                race = row.get("race_primary_single") or None
                out[row["identity"]] = IdentityLabels(sex=row["gender"], race=race)
        return out


def _counts(lines: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return dict(sorted(out.items()))


def _parse_pair(line: str, fold: int) -> Pair:
    parts = line.split()
    if len(parts) == 3:
        name, n1, n2 = parts
        return Pair(image_path(name, int(n1)), image_path(name, int(n2)), True, fold)
    if len(parts) == 4:
        name1, n1, name2, n2 = parts
        return Pair(image_path(name1, int(n1)), image_path(name2, int(n2)), False, fold)
    raise ConfigurationError(f"malformed pair line: {line!r}")


def slice_pairs(pairs: Sequence[Pair], per_fold: int) -> list[Pair]:
    """The first ``per_fold // 2`` matched and mismatched pairs of each fold (small runs)."""
    half = max(1, per_fold // 2)
    out: list[Pair] = []
    seen: dict[tuple[int, bool], int] = {}
    for p in pairs:
        key = (p.fold, p.same)
        if seen.get(key, 0) < half:
            seen[key] = seen.get(key, 0) + 1
            out.append(p)
    return out
