"""Names people read: one Unicode form where they enter, and a key that look-alikes share.

Every name and label (gallery, subject, user, group, key label) is stored in Unicode
normalisation form C (:func:`nfc`), so ``José`` typed (NFC) and ``José`` from a macOS
folder (NFD) are one name. Users, galleries and groups are also compared on
:func:`name_key`: two names whose keys are equal are one name to a reader, and the
second is refused as a duplicate (``admin``, Cyrillic ``аdmin`` and full-width
``ａｄｍｉｎ``; ``g``, Latin script ``ɡ`` and full-width ``ｇ``; ``Admin`` and ``admin``).

The key is Unicode's confusable skeleton (UTS #39 section 4, "Confusable Detection") of
the name's NFKC case fold (Unicode ``toNFKC_Casefold`` as Python approximates it:
NFKC, then :meth:`str.casefold`). The skeleton comes from ICU's ``SpoofChecker``
(``uspoof_getSkeleton``, through the ``pyicu-wheels`` package), which carries Unicode's
``confusables.txt``; it is loaded on first use, not at import.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from typing import Any

_lock = threading.Lock()

RESERVED = frozenset({".", ".."})
"""Names a URL path segment cannot carry: clients resolve ``/galleries/..`` away."""


def nfc(value: str) -> str:
    """``value`` in Unicode normalisation form C (composed)."""
    return unicodedata.normalize("NFC", value)


@functools.cache
def _checker() -> Any:
    import icu  # the ICU library is large: loaded on first use

    return icu.SpoofChecker()


def name_key(value: str) -> str:
    """The key two names share when a reader cannot tell them apart.

    ``skeleton(casefold(NFKC(value)))`` per UTS #39, then NFC, so the key is a plain
    string to compare and index. Equal keys mean confusable names; different keys do not
    prove two names look different (UTS #39 lists confusables by single characters).
    """
    return _skeleton(unicodedata.normalize("NFKC", value).casefold())


def _skeleton(value: str) -> str:
    checker = _checker()
    with _lock:  # one SpoofChecker is not documented as safe across threads
        skeleton = str(checker.getSkeleton(0, value))
    return unicodedata.normalize("NFC", skeleton)


def shown(value: str, other: str) -> tuple[str, str]:
    """``value`` and ``other`` quoted for one message: with :func:`repr`, or with
    :func:`ascii` (``'Jose\\u0301'``, ``'\\u0430dmin'``) when they differ but render
    alike (equal UTS #39 skeletons, case kept: two Unicode forms, a Cyrillic ``а`` for a
    Latin ``a``), so a reader sees how they differ. As ``facesearch report names`` shows
    names."""
    if value != other and _skeleton(value) == _skeleton(other):
        return ascii(value), ascii(other)
    return repr(value), repr(other)
