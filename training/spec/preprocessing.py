"""How a data set is split, transformed (fitted on the training split) and augmented."""

import math
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel

Shape = tuple[int, ...]
# a held-out split as a count of samples (an int) or as a fraction of them (a float below 1)
SplitSize = Annotated[int, Field(ge=0)] | Annotated[float, Field(ge=0.0, lt=1.0)]
MAX_FOLDS = 20
Size2d = tuple[Annotated[int, Field(ge=1, le=16_384)], Annotated[int, Field(ge=1, le=16_384)]]


def _count(size: int | float, n: int) -> int:
    """A fraction rounds up, as scikit-learn's train_test_split rounds its test size."""
    return size if isinstance(size, int) else math.ceil(size * n)


class SplitSpec(SpecModel):
    """Validation and test splits held out of the data set; training uses the rest.

    Each size is a fraction of the samples (0.15) or a number of them (100). The samples are
    drawn with numpy's Generator(seed), independent of training.seed, so runs that differ only
    in their training seed see the same split. stratify keeps every class's share in each split
    within one sample of exact.

    With folds = k, the test samples are held out first (the same for every fold) and the rest
    is cut into k folds: fold i validates on fold i and trains on the other k - 1. A spec with
    folds and no fold is a cross-validation parent; its child jobs each name their fold.
    """

    val: SplitSize = 0.0
    test: SplitSize = 0.0
    stratify: bool = False
    seed: int = Field(default=0, ge=0, lt=2**32)
    folds: int | None = Field(default=None, ge=2, le=MAX_FOLDS)
    fold: int | None = Field(
        default=None, ge=0, lt=MAX_FOLDS, description="the fold this job validates on (0-based)"
    )

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> Self:
        fractions = [v for v in (self.val, self.test) if isinstance(v, float)]
        if sum(fractions) >= 1.0:
            raise ValueError("val + test must leave a share for training (sum below 1)")
        return self

    @model_validator(mode="after")
    def _folds_consistent(self) -> Self:
        if self.folds is not None and self.val:
            raise ValueError("folds and val exclude each other: each fold is the validation split")
        if self.fold is not None and self.folds is None:
            raise ValueError("fold needs folds")
        if self.fold is not None and self.folds is not None and self.fold >= self.folds:
            raise ValueError(f"fold must be below folds ({self.folds}); got {self.fold}")
        return self

    def fold_sizes(self, n: int) -> list[int]:
        """Samples per fold of n samples, the first (n - test) % folds one larger; [] without."""
        if self.folds is None:
            return []
        rest = max(n - _count(self.test, n), 0)
        return [rest // self.folds + (i < rest % self.folds) for i in range(self.folds)]

    def sizes(self, n: int) -> tuple[int, int, int]:
        """(train, val, test) sample counts for n samples; train may come out below 1.

        With folds, val is the size of this spec's fold (fold 0 for a cross-validation parent).
        """
        test = _count(self.test, n)
        val = self.fold_sizes(n)[self.fold or 0] if self.folds else _count(self.val, n)
        return n - val - test, val, test


class StandardScalerSpec(SpecModel):
    """Subtract the mean and divide by the standard deviation, both of the training split."""

    type: Literal["StandardScaler"] = "StandardScaler"
    with_mean: bool = True
    with_std: bool = True
    per_channel: bool = Field(
        default=False, description="one mean and deviation per channel (dim 0 of a sample)"
    )


class MinMaxScalerSpec(SpecModel):
    """Rescale each feature to feature_range by the training split's minimum and maximum."""

    type: Literal["MinMaxScaler"] = "MinMaxScaler"
    feature_range: tuple[float, float] = (0.0, 1.0)
    clip: bool = False
    per_channel: bool = Field(
        default=False, description="one minimum and maximum per channel (dim 0 of a sample)"
    )

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        if self.feature_range[0] >= self.feature_range[1]:
            raise ValueError("feature_range must be (low, high) with low < high")
        return self


class NormalizeSpec(SpecModel):
    """(x - mean) / std per channel (dim 0 of a sample), with given values, as torchvision's."""

    type: Literal["Normalize"] = "Normalize"
    mean: list[float] = Field(min_length=1, max_length=100_000)
    std: list[Annotated[float, Field(gt=0.0)]] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _same_length(self) -> Self:
        if len(self.mean) != len(self.std):
            raise ValueError("mean and std need the same number of values")
        return self


class ResizeSpec(SpecModel):
    """Resize images (the last two dims) to size, by torch.nn.functional.interpolate."""

    type: Literal["Resize"] = "Resize"
    size: Size2d
    interpolation: Literal["nearest", "bilinear", "bicubic", "area"] = "bilinear"
    antialias: bool = True


class CenterCropSpec(SpecModel):
    """Cut the centre size = (height, width) out of every image, padding with 0 if smaller."""

    type: Literal["CenterCrop"] = "CenterCrop"
    size: Size2d


PreprocessingStep = Annotated[
    StandardScalerSpec | MinMaxScalerSpec | NormalizeSpec | ResizeSpec | CenterCropSpec,
    Field(discriminator="type"),
]


class RandomCropSpec(SpecModel):
    """Pad each training image by `padding`, then crop it back to its size at a random place."""

    type: Literal["RandomCrop"] = "RandomCrop"
    padding: int = Field(default=0, ge=0, le=1024)
    fill: float = 0.0
    padding_mode: Literal["constant", "reflect", "replicate", "circular"] = "constant"


class RandomHorizontalFlipSpec(SpecModel):
    """Flip each training image left-right with probability p."""

    type: Literal["RandomHorizontalFlip"] = "RandomHorizontalFlip"
    p: float = Field(default=0.5, ge=0.0, le=1.0)


class RandomVerticalFlipSpec(SpecModel):
    """Flip each training image upside down with probability p."""

    type: Literal["RandomVerticalFlip"] = "RandomVerticalFlip"
    p: float = Field(default=0.5, ge=0.0, le=1.0)


AugmentationStep = Annotated[
    RandomCropSpec | RandomHorizontalFlipSpec | RandomVerticalFlipSpec,
    Field(discriminator="type"),
]

IMAGE_STEPS = (ResizeSpec, CenterCropSpec, RandomCropSpec)


def step_shape(step: SpecModel, shape: Shape) -> Shape:
    """A sample's shape after step; ValueError when the step cannot take such samples."""
    if isinstance(step, NormalizeSpec) and len(step.mean) not in {1, shape[0]}:
        raise ValueError(
            f"Normalize has {len(step.mean)} means; samples of shape {shape} have "
            f"{shape[0]} channels (dim 0)"
        )
    if isinstance(step, IMAGE_STEPS) and len(shape) < 2:
        raise ValueError(f"{step.type} needs image samples (..., height, width), not {shape}")
    if (
        isinstance(step, RandomCropSpec)
        and step.padding_mode == "reflect"
        and step.padding >= min(shape[-2:])
    ):
        raise ValueError("reflect padding must be smaller than the image's height and width")
    if isinstance(step, ResizeSpec | CenterCropSpec):
        return (*shape[:-2], *step.size)
    return shape
