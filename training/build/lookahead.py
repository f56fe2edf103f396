"""Lookahead (Zhang et al. 2019, arXiv:1907.08610) around any torch optimizer."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any, overload

import torch
from torch.optim import Optimizer

StateDict = dict[str, Any]


class Lookahead(Optimizer):
    """Every k steps of the base optimizer: slow += alpha * (fast - slow), then fast = slow.

    `param_groups` is the base optimizer's own list, so schedulers, the lr record and the base
    see the same groups. The slow weights live in this optimizer's `state`, taken from the
    weights at the first step, and travel in `state_dict()` under "lookahead".
    """

    def __init__(self, base_optimizer: Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if k < 1:
            raise ValueError(f"Lookahead k must be at least 1, got {k}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Lookahead alpha must be in [0, 1], got {alpha}")
        self.base_optimizer = base_optimizer
        self.k = k
        self.alpha = alpha
        self.steps = 0
        super().__init__(base_optimizer.param_groups, base_optimizer.defaults)
        self.param_groups = base_optimizer.param_groups

    def _params(self) -> list[torch.Tensor]:
        """Parameters in param_groups order, the order state_dict numbers them in."""
        return [param for group in self.param_groups for param in group["params"]]

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One base step (closure passed through); every k-th also syncs the slow weights."""
        self._remember_slow_weights()
        loss = self.base_optimizer.step(closure)
        self.steps += 1
        if self.steps % self.k == 0:
            self._sync()
        return loss

    @torch.no_grad()
    def _remember_slow_weights(self) -> None:
        for param in self._params():
            if "slow_param" not in self.state[param]:
                self.state[param]["slow_param"] = param.detach().clone()

    @torch.no_grad()
    def _sync(self) -> None:
        for param in self._params():
            slow = self.state[param]["slow_param"]
            slow.add_(param - slow, alpha=self.alpha)
            param.copy_(slow)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base_optimizer.zero_grad(set_to_none)

    def state_dict(self) -> StateDict:
        """The base optimizer's state dict plus "lookahead": k, alpha, steps, slow weights."""
        params = self._params()
        slow = {
            index: self.state[param]["slow_param"]
            for index, param in enumerate(params)
            if "slow_param" in self.state[param]
        }
        lookahead = {"k": self.k, "alpha": self.alpha, "steps": self.steps, "slow_params": slow}
        return {**self.base_optimizer.state_dict(), "lookahead": lookahead}

    def load_state_dict(self, state_dict: StateDict) -> None:
        base_state = {key: value for key, value in state_dict.items() if key != "lookahead"}
        self.base_optimizer.load_state_dict(base_state)
        # torch's load_state_dict replaces the base's group list: share the new one
        self.param_groups = self.base_optimizer.param_groups
        lookahead = state_dict["lookahead"]
        self.k, self.alpha, self.steps = lookahead["k"], lookahead["alpha"], lookahead["steps"]
        params = self._params()
        self.state = defaultdict(dict)
        for index, slow in lookahead["slow_params"].items():
            param = params[int(index)]
            self.state[param]["slow_param"] = slow.to(param.device, param.dtype, copy=True)
