"""Learning-rate schedule specs; each steps per epoch or per batch as `interval` says."""

from typing import Annotated, Literal

from pydantic import Field

from training.spec.base import SpecModel

Interval = Literal["epoch", "batch"]


class SchedulerBase(SpecModel):
    interval: Interval = "epoch"


class StepLRSpec(SchedulerBase):
    type: Literal["StepLR"] = "StepLR"
    step_size: int = Field(gt=0)
    gamma: float = Field(default=0.1, gt=0.0)


SchedulerSpec = Annotated[StepLRSpec, Field(discriminator="type")]
