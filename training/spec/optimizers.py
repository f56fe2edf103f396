"""Optimizer specs, fields named and defaulted as in torch.optim."""

from typing import Annotated, Literal

from pydantic import Field

from training.spec.base import SpecModel

PositiveLr = Annotated[float, Field(gt=0.0)]
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]


class SGDSpec(SpecModel):
    type: Literal["SGD"] = "SGD"
    lr: PositiveLr = 0.001
    momentum: float = Field(default=0.0, ge=0.0)
    dampening: float = 0.0
    weight_decay: float = Field(default=0.0, ge=0.0)
    nesterov: bool = False
    maximize: bool = False


class AdamSpec(SpecModel):
    type: Literal["Adam"] = "Adam"
    lr: PositiveLr = 0.001
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: float = Field(default=1e-8, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    amsgrad: bool = False
    maximize: bool = False


OptimizerSpec = Annotated[SGDSpec | AdamSpec, Field(discriminator="type")]
