"""A bounded LRU of submission-check results, keyed by exactly the parts of a spec they read."""

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import torch

from training.spec import TrainingSpec

CHECKS_KEPT = 1024
V = TypeVar("V")


def check_key(spec: TrainingSpec) -> str:
    """Canonical JSON of what the shape and loss checks read: not lr, seed, epochs or sizes."""
    dataset = spec.dataset
    parts = {
        "model": spec.model.model_dump(mode="json"),
        "loss": spec.loss.model_dump(mode="json"),
        "sample_shape": dataset.sample_shape(),
        "target_shape": dataset.target_shape(),
        "target_kind": dataset.target_kind.value,
        "num_classes": dataset.num_classes(),
        # the dtype of every meta tensor that is not given one
        "default_dtype": str(torch.get_default_dtype()),
    }
    return json.dumps(parts, sort_keys=True, separators=(",", ":"))


class CheckCache(Generic[V]):
    """Results by key, least recently used dropped first; safe to share between request threads.

    Keep only immutable values: every caller gets the same object.
    """

    def __init__(self, size: int = CHECKS_KEPT) -> None:
        self.size = size
        # sha256 of the key: a long model's key would otherwise be kept whole
        self._entries: OrderedDict[bytes, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], V]) -> V:
        """The kept result for key, or compute's, kept; an exception is raised, not kept."""
        digest = hashlib.sha256(key.encode()).digest()
        with self._lock:
            if digest in self._entries:
                self._entries.move_to_end(digest)
                return self._entries[digest]
        value = compute()  # outside the lock, so a slow check does not hold up cache hits
        with self._lock:
            self._entries[digest] = value
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
