"""A small base for things that are expensive to load: loaded once, on first use, under a lock.

Follows immich's ``InferenceModel`` shape: the public method calls :meth:`load`, which runs
the subclass's :meth:`_load` exactly once per instance, thread-safely.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LazyModel(Generic[T]):
    """Holds a model object of type ``T`` that is built by :meth:`_load` on first use."""

    def __init__(self) -> None:
        self._model: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> T:
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> T:  # pragma: no cover - abstract
        raise NotImplementedError
