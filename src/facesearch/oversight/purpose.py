"""Purpose categories: a fixed, documented keyword map over the free-text search purpose.

The purpose of a search is free text ("armed robbery on 3 May, CCTV still"). For the
oversight report it is put in one category, deterministically: the text is lower-cased and
split into words (runs of ``a``-``z``); the category is the **first** of :data:`CATEGORIES`,
in the order listed, that has one of its words among them; otherwise :data:`OTHER`. So
"identity fraud and theft of a card" is ``fraud`` (fraud comes before theft), and
"robbery with assault" is ``robbery``. Whole words only: "tested" is not "test".

The map is a heuristic for oversight (how is search used?), not a legal classification;
an auditor who needs the exact text reads the audit log.
"""

from __future__ import annotations

import re

OTHER = "other"
"""The category of a purpose without any listed word (and of a missing purpose)."""

CATEGORIES: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "homicide",
        frozenset(
            {"murder", "murdered", "murders", "homicide", "homicides", "manslaughter", "killing"}
        ),
    ),
    ("sexual offence", frozenset({"rape", "raped", "sexual", "indecent"})),
    (
        "robbery",
        frozenset(
            {
                "robbery",
                "robberies",
                "robbed",
                "robber",
                "robbers",
                "mugging",
                "mugged",
                "carjacking",
            }
        ),
    ),
    (
        "assault",
        frozenset(
            {
                "assault",
                "assaulted",
                "assaults",
                "battery",
                "stabbing",
                "stabbed",
                "shooting",
                "wounding",
                "violence",
                "violent",
            }
        ),
    ),
    (
        "missing person",
        frozenset(
            {
                "missing",
                "disappeared",
                "disappearance",
                "abduction",
                "abducted",
                "kidnap",
                "kidnapped",
                "kidnapping",
                "runaway",
            }
        ),
    ),
    (
        "fraud",
        frozenset(
            {"fraud", "fraudulent", "scam", "forgery", "forged", "counterfeit", "impersonation"}
        ),
    ),
    (
        "theft",
        frozenset(
            {
                "theft",
                "thefts",
                "burglary",
                "burglaries",
                "stolen",
                "stealing",
                "shoplifting",
                "larceny",
            }
        ),
    ),
    ("drugs", frozenset({"drug", "drugs", "narcotics", "trafficking"})),
    ("test", frozenset({"test", "tests", "testing", "training", "demo", "exercise"})),
)
"""Categories in priority order, each with the whole words (lower case) that select it."""

CATEGORY_NAMES: tuple[str, ...] = (*(name for name, _ in CATEGORIES), OTHER)
"""Every category, in report order (the listed ones, then :data:`OTHER`)."""

_WORD = re.compile(r"[a-z]+")


def purpose_category(purpose: str | None) -> str:
    """The category of ``purpose`` (see the module's docstring); :data:`OTHER` if none."""
    words = set(_WORD.findall((purpose or "").casefold()))
    for name, keywords in CATEGORIES:
        if words & keywords:
            return name
    return OTHER
