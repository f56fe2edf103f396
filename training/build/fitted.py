"""Preprocessing as fitted on a training split: plain numbers that travel with the weights.

A network trained on preprocessed features expects them preprocessed; these models say exactly
how, so predictions and anyone loading the weights can turn raw samples into network inputs.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from training.spec.preprocessing import CenterCropSpec, NormalizeSpec, ResizeSpec


class FittedStandardScaler(BaseModel):
    """(x - mean) / std, mean and std laid out in `shape` and broadcast over each sample.

    shape is the sample shape (per feature) or (channels, 1, ...) (per channel); a null mean or
    std means the step does not centre or does not scale. std is the population deviation,
    with 1 where a feature is constant, as scikit-learn's StandardScaler does.
    """

    type: Literal["StandardScaler"] = "StandardScaler"
    shape: tuple[int, ...]
    mean: list[float] | None
    std: list[float] | None


class FittedMinMaxScaler(BaseModel):
    """x * scale + offset, laid out in `shape`; then clamped to clip when it is set."""

    type: Literal["MinMaxScaler"] = "MinMaxScaler"
    shape: tuple[int, ...]
    scale: list[float]
    offset: list[float]
    clip: tuple[float, float] | None = None


FittedStep = Annotated[
    FittedStandardScaler | FittedMinMaxScaler | NormalizeSpec | ResizeSpec | CenterCropSpec,
    Field(discriminator="type"),
]


class FittedPreprocessing(BaseModel):
    """The preprocessing steps in order, from raw samples of raw_shape to the network's inputs.

    Normalize, Resize and CenterCrop need no fitting and appear as the spec gave them.
    """

    raw_shape: tuple[int, ...] = Field(description="one raw sample's shape, before the steps")
    steps: list[FittedStep] = Field(default_factory=list)
