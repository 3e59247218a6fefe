"""Whether a refused value was kept or shown: a check that cannot pass or fail by chance.

A short run of digits (``"4111"``, ``"867"``) is no evidence: a hex hash, an API key or a
random id holds any such run now and then, so ``"4111" not in dump`` fails at random on a
dump of audit rows with their sha256 hashes. These helpers look for the *whole* value,
and for its digits-only form when it has enough digits to be one identifier (a card or
phone number written another way), in the *text fields* only, never in hex digests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import text

from facesearch.store import Store

#: Columns of ``audit_events`` that hold digests of the chain or of a probe, not text.
_DIGEST_COLUMNS = frozenset({"hash", "prev_hash", "probe_sha256"})
#: A hex digest (sha256, md5, ...) anywhere in the details: never text a user wrote.
_HEX_DIGEST = re.compile(r"[0-9a-f]{32,}")
#: Digits an identifier needs before its digits-only form is looked for (a phone number
#: without area code has 7; fewer digits turn up by chance in ordinary text).
MIN_DIGITS = 7


def forms(value: str) -> list[str]:
    """``value`` itself and, when it holds at least :data:`MIN_DIGITS` digits, its
    digits-only form (``"4111 1111 1111 1111"`` -> ``"4111111111111111"``)."""
    digits = re.sub(r"\D", "", value)
    return [value, digits] if len(digits) >= MIN_DIGITS and digits != value else [value]


def _strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (JSON text is parsed first), hex digests left out."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("[", "{"):
            try:
                yield from _strings(json.loads(stripped))
                return
            except ValueError:
                pass
        if not _HEX_DIGEST.fullmatch(stripped):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(str(key))
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def audit_texts(store: Store) -> list[str]:
    """The text fields of every stored audit event: every string column and every string
    inside the JSON columns (details, results, galleries), read from the table as stored;
    the chain's hashes, the probe's sha256 and any hex digest in the details are left out."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events")).mappings().all()
    return [
        s
        for row in rows
        for column, value in row.items()
        if column not in _DIGEST_COLUMNS
        for s in _strings(value)
    ]


#: What people put between the digits of one number: spaces, dashes, dots, slashes,
#: brackets and a leading plus.
_SEPARATORS = re.compile(r"[\s\-./()+]")


def disclosed(value: str, texts: Iterable[str]) -> list[str]:
    """The texts holding ``value`` whole, or its digits-only form once separators are
    taken out of the text (so ``4111-1111-1111-1111`` gives ``4111 1111 1111 1111`` away)."""
    whole, *digits = forms(value)
    return [t for t in texts if whole in t or any(d in _SEPARATORS.sub("", t) for d in digits)]
