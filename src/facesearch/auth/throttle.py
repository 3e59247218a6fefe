"""A per-address limit on failed authentications.

API keys hold 32 random bytes, so guessing one is hopeless; the limit is there so that a
client presenting bad keys in a loop cannot flood the audit log (every failure is an
audited event, written under the store's write lock) or keep the store busy. Once an
address has failed ``limit`` times within ``window_s`` seconds, its further attempts are
refused before any key is looked up, and only the first refused attempt of a window is
audited (``auth.throttled``).

The state is in memory, per process: a restart forgets it, which is acceptable for a
limit on noise rather than a security boundary.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_ADDRESSES = 10_000
"""Addresses remembered at most; the least recently failing ones are forgotten first."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An attempt refused by the limit: seconds until the address may try again, and
    whether this is the first refusal of its window (the one worth auditing)."""

    retry_after_s: int
    first: bool


class FailureThrottle:
    """Counts failed authentications per client address over a sliding window.

    ``limit`` 0 disables the limit. ``clock`` returns seconds (monotonic by default).
    Thread-safe.
    """

    def __init__(
        self,
        limit: int,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._refused: dict[str, float] = {}  # address -> start of its current refusal

    def check(self, address: str | None) -> Refusal | None:
        """``None`` when ``address`` may try; else how long it must wait."""
        if self._limit <= 0:
            return None
        key = address or "unknown"
        now = self._clock()
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                return None
            self._expire(times, now)
            if len(times) < self._limit:
                self._refused.pop(key, None)
                return None
            retry = max(1, math.ceil(times[0] + self._window_s - now))
            first = key not in self._refused
            if first:
                self._refused[key] = now
            return Refusal(retry_after_s=retry, first=first)

    def failed(self, address: str | None) -> None:
        """Count one failed authentication from ``address``."""
        if self._limit <= 0:
            return
        key = address or "unknown"
        now = self._clock()
        with self._lock:
            times = self._failures.pop(key, None) or deque()
            self._expire(times, now)
            times.append(now)
            self._failures[key] = times  # re-inserted: most recent last
            while len(self._failures) > MAX_ADDRESSES:
                oldest = next(iter(self._failures))
                del self._failures[oldest]
                self._refused.pop(oldest, None)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self._window_s:
            times.popleft()
