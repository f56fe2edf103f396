"""Data set specs: what a job trains on and which target kind it provides."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from training.spec.base import SpecModel
from training.spec.targets import TargetKind

MAX_GENERATED_SAMPLES = 10_000_000


class DatasetBase(SpecModel):
    target_kind: ClassVar[TargetKind]


class MoonsSpec(DatasetBase):
    """sklearn.datasets.make_moons; random_state defaults to 0 so a spec is reproducible."""

    target_kind = TargetKind.CLASS_INDEX
    type: Literal["moons"] = "moons"
    n_samples: int = Field(default=100, ge=2, le=MAX_GENERATED_SAMPLES)
    shuffle: bool = True
    noise: float | None = Field(default=None, ge=0.0)
    random_state: int = 0


class RegressionSpec(DatasetBase):
    """sklearn.datasets.make_regression; random_state defaults to 0 so a spec is reproducible."""

    target_kind = TargetKind.REGRESSION
    type: Literal["regression"] = "regression"
    n_samples: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    n_features: int = Field(default=100, ge=1, le=100_000)
    n_informative: int = Field(default=10, ge=0)
    n_targets: int = Field(default=1, ge=1, le=10_000)
    bias: float = 0.0
    noise: float = Field(default=0.0, ge=0.0)
    shuffle: bool = True
    random_state: int = 0


DatasetSpec = Annotated[MoonsSpec | RegressionSpec, Field(discriminator="type")]
