"""Early stopping, as Keras' EarlyStopping callback defines it."""

from typing import Literal

from pydantic import Field

from training.spec.base import SpecModel


class EarlyStoppingSpec(SpecModel):
    """Stop when `monitor` has not improved by more than min_delta for `patience` epochs.

    monitor defaults to val_loss, and to train_loss when the job has no validation split.
    """

    monitor: str | None = Field(default=None, pattern=r"^(train|val)_\w+$")
    mode: Literal["min", "max"] = "min"
    patience: int = Field(default=10, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best_weights: bool = False
