"""Expensive models: loaded on first use, once per process, used under a lock.

Follows immich's ``InferenceModel`` shape: the public :meth:`LazyModel.load` runs the
subclass's :meth:`LazyModel._load` on first use. Loaded models are kept in a process-wide
table keyed by :meth:`LazyModel.cache_key`, so two pipelines in one process share one copy
of the weights. dlib's models are not safe to call from several threads at once, so each
model comes with one lock that every caller holds while running it.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_loaded: dict[str, tuple[Any, threading.Lock]] = {}
_table_lock = threading.Lock()


class LazyModel(Generic[T]):
    """Holds a model of type ``T`` built by :meth:`_load` the first time it is needed."""

    def cache_key(self) -> str:
        """Identity of the loaded model in this process (default: the class's full name)."""
        return f"{type(self).__module__}.{type(self).__qualname__}"

    @property
    def loaded(self) -> bool:
        return self.cache_key() in _loaded

    def load(self) -> T:
        model: T = self._entry()[0]
        return model

    @property
    def lock(self) -> threading.Lock:
        """Hold this while calling the model (it is shared by every user in the process)."""
        return self._entry()[1]

    def _entry(self) -> tuple[Any, threading.Lock]:
        key = self.cache_key()
        entry = _loaded.get(key)
        if entry is not None:
            return entry
        with _table_lock:
            entry = _loaded.get(key)
            if entry is None:
                entry = (self._load(), threading.Lock())
                _loaded[key] = entry
            return entry

    def _load(self) -> T:  # pragma: no cover - abstract
        raise NotImplementedError
