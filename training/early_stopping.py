"""Tracks the monitored metric, the best epoch and (optionally) the best weights."""

from dataclasses import dataclass, field

import torch
from torch import nn

from training.spec.early_stopping import EarlyStoppingSpec


@dataclass
class BestTracker:
    """The best epoch of one metric; decides when patience has run out."""

    monitor: str
    mode: str
    min_delta: float = 0.0
    patience: int | None = None
    keep_weights: bool = False
    restore: bool = False
    best_epoch: int = 0
    best_value: float | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None
    _bad_epochs: int = 0
    _sources: list[torch.Tensor] | None = field(default=None, repr=False)
    _copies: list[torch.Tensor] = field(default_factory=list, repr=False)

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    @torch.no_grad()
    def _keep(self, network: nn.Module) -> None:
        """Copy the weights into tensors kept from the last copy: no allocation per epoch.

        Optimizers and load_state_dict update parameters and buffers in place, so the tensors
        behind the first state_dict stay the network's own all run long; walking the modules
        for a new state_dict every epoch would cost more than a small network's training step.
        """
        if self.best_state is None or self._sources is None:
            state = network.state_dict(keep_vars=True)
            self.best_state = {key: value.detach().clone() for key, value in state.items()}
            self._sources = [value.detach() for value in state.values()]
            self._copies = list(self.best_state.values())
            return
        torch._foreach_copy_(self._copies, self._sources)

    def update(self, epoch: int, metrics: dict[str, float], network: nn.Module) -> bool:
        """Record the epoch; True when training should stop."""
        if self.monitor not in metrics:
            recorded = ", ".join(sorted(metrics))
            raise ValueError(f"monitored metric {self.monitor!r} is not recorded; have: {recorded}")
        value = metrics[self.monitor]
        if self._improved(value):
            self.best_epoch, self.best_value, self._bad_epochs = epoch, value, 0
            self.best_metrics = dict(metrics)
            if self.keep_weights:
                self._keep(network)
            return False
        self._bad_epochs += 1
        return self.patience is not None and self._bad_epochs >= max(self.patience, 1)


def tracker_for(spec: EarlyStoppingSpec | None, *, has_val: bool) -> BestTracker:
    """The early-stopping tracker, or a patience-free one that only records the best epoch.

    Either keeps a copy of the best epoch's weights, which the run saves beside the final ones.
    """
    default_monitor = "val_loss" if has_val else "train_loss"
    if spec is None:
        return BestTracker(monitor=default_monitor, mode="min", keep_weights=True)
    return BestTracker(
        monitor=spec.monitor or default_monitor,
        mode=spec.mode,
        min_delta=spec.min_delta,
        patience=spec.patience,
        keep_weights=True,
        restore=spec.restore_best_weights,
    )
