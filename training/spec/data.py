"""Data set specs: what a job trains on, which target kind it provides, and the tensors' shapes."""

import math
from abc import abstractmethod
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from training.spec.base import SpecModel
from training.spec.targets import TargetKind

MAX_GENERATED_SAMPLES = 10_000_000
# features plus targets of one generated set: 50M float32 values are 200 MB
MAX_GENERATED_VALUES = 50_000_000
MAX_CLASSES = 100_000

Shape = tuple[int, ...]
Dim = Annotated[int, Field(ge=1, le=1_000_000)]
RandomState = Annotated[int, Field(ge=0, lt=2**32)]


class DatasetBase(SpecModel):
    """Every data set spec; the metadata methods are cheap and generate nothing."""

    @abstractmethod
    def sample_shape(self) -> Shape:
        """One sample's feature shape."""

    @abstractmethod
    def target_shape(self) -> Shape:
        """One sample's target shape; () for a class index."""

    @abstractmethod
    def num_classes(self) -> int | None:
        """The number of classes or labels the targets encode; None for real-valued targets."""


def _check_size(n_samples: int, sample_shape: Shape, target_shape: Shape) -> None:
    values = n_samples * (math.prod(sample_shape) + math.prod(target_shape))
    if values > MAX_GENERATED_VALUES:
        raise ValueError(
            f"the data set would hold {values:,} values; the limit is {MAX_GENERATED_VALUES:,}"
        )


class MoonsSpec(DatasetBase):
    """sklearn.datasets.make_moons; random_state defaults to 0 so a spec is reproducible."""

    target_kind: ClassVar[TargetKind] = TargetKind.CLASS_INDEX
    type: Literal["moons"] = "moons"
    n_samples: int = Field(default=100, ge=2, le=MAX_GENERATED_SAMPLES)
    shuffle: bool = True
    noise: float | None = Field(default=None, ge=0.0)
    random_state: int = 0

    def sample_shape(self) -> Shape:
        return (2,)

    def target_shape(self) -> Shape:
        return ()

    def num_classes(self) -> int:
        return 2


class RegressionSpec(DatasetBase):
    """sklearn.datasets.make_regression; random_state defaults to 0 so a spec is reproducible."""

    target_kind: ClassVar[TargetKind] = TargetKind.REGRESSION
    type: Literal["regression"] = "regression"
    n_samples: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    n_features: int = Field(default=100, ge=1, le=100_000)
    n_informative: int = Field(default=10, ge=0)
    n_targets: int = Field(default=1, ge=1, le=10_000)
    bias: float = 0.0
    noise: float = Field(default=0.0, ge=0.0)
    shuffle: bool = True
    random_state: int = 0

    def sample_shape(self) -> Shape:
        return (self.n_features,)

    def target_shape(self) -> Shape:
        return (self.n_targets,)

    def num_classes(self) -> None:
        return None


LABEL_KINDS = (TargetKind.CLASS_INDEX, TargetKind.PROBABILITIES, TargetKind.BINARY, TargetKind.SIGN)


class LabelledSetBase(DatasetBase):
    """A generated classification set whose class labels are given as target_kind says.

    class_index: the class number; probabilities: one-hot rows; binary: the class (0 or 1) as one
    float column; sign: -1 for class 0 and +1 for class 1, as one float column.
    """

    target_kind: TargetKind = TargetKind.CLASS_INDEX

    def target_shape(self) -> Shape:
        if self.target_kind == TargetKind.CLASS_INDEX:
            return ()
        if self.target_kind == TargetKind.PROBABILITIES:
            return (self.num_classes(),)
        return (1,)

    @abstractmethod
    def num_classes(self) -> int: ...

    @model_validator(mode="after")
    def _labels_encodable(self) -> Self:
        if self.target_kind not in LABEL_KINDS:
            allowed = ", ".join(kind.value for kind in LABEL_KINDS)
            raise ValueError(f"target_kind must be one of {allowed}, not {self.target_kind.value}")
        if self.target_kind in {TargetKind.BINARY, TargetKind.SIGN} and self.num_classes() != 2:
            raise ValueError(
                f"{self.target_kind.value} targets need 2 classes; this set has "
                f"{self.num_classes()}"
            )
        return self


class CirclesSpec(LabelledSetBase):
    """sklearn.datasets.make_circles; random_state defaults to 0 so a spec is reproducible."""

    type: Literal["circles"] = "circles"
    n_samples: int = Field(default=100, ge=2, le=MAX_GENERATED_SAMPLES)
    shuffle: bool = True
    noise: float | None = Field(default=None, ge=0.0)
    random_state: RandomState = 0
    factor: float = Field(default=0.8, ge=0.0, lt=1.0)

    def sample_shape(self) -> Shape:
        return (2,)

    def num_classes(self) -> int:
        return 2


class BlobsSpec(LabelledSetBase):
    """sklearn.datasets.make_blobs; one class per centre (3 random ones when centers is null)."""

    type: Literal["blobs"] = "blobs"
    n_samples: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    n_features: int = Field(default=2, ge=1, le=100_000)
    centers: (
        Annotated[int, Field(ge=1, le=MAX_CLASSES)]
        | Annotated[list[list[float]], Field(min_length=1, max_length=MAX_CLASSES)]
        | None
    ) = None
    cluster_std: Annotated[float, Field(ge=0.0)] | list[Annotated[float, Field(ge=0.0)]] = 1.0
    center_box: tuple[float, float] = (-10.0, 10.0)
    shuffle: bool = True
    random_state: RandomState = 0

    def sample_shape(self) -> Shape:
        if isinstance(self.centers, list):
            return (len(self.centers[0]),)
        return (self.n_features,)

    def num_classes(self) -> int:
        if self.centers is None:
            return 3
        return self.centers if isinstance(self.centers, int) else len(self.centers)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        lengths = {len(c) for c in self.centers} if isinstance(self.centers, list) else {1}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError("every centre needs the same, non-zero number of coordinates")
        if isinstance(self.cluster_std, list) and len(self.cluster_std) != self.num_classes():
            raise ValueError(f"cluster_std needs one value per centre ({self.num_classes()})")
        if self.center_box[0] >= self.center_box[1]:
            raise ValueError("center_box must be (low, high) with low < high")
        _check_size(self.n_samples, self.sample_shape(), self.target_shape())
        return self


class ClassificationSpec(LabelledSetBase):
    """sklearn.datasets.make_classification; random_state defaults to 0 for reproducibility."""

    type: Literal["classification"] = "classification"
    n_samples: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    n_features: int = Field(default=20, ge=1, le=100_000)
    n_informative: int = Field(default=2, ge=1, le=100_000)
    n_redundant: int = Field(default=2, ge=0, le=100_000)
    n_repeated: int = Field(default=0, ge=0, le=100_000)
    n_classes: int = Field(default=2, ge=2, le=MAX_CLASSES)
    n_clusters_per_class: int = Field(default=2, ge=1, le=MAX_CLASSES)
    weights: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = None
    flip_y: float = Field(default=0.01, ge=0.0, le=1.0)
    class_sep: float = Field(default=1.0, gt=0.0)
    hypercube: bool = True
    shift: float | list[float] | None = 0.0
    scale: Annotated[float, Field(gt=0.0)] | list[Annotated[float, Field(gt=0.0)]] | None = 1.0
    shuffle: bool = True
    random_state: RandomState = 0

    def sample_shape(self) -> Shape:
        return (self.n_features,)

    def num_classes(self) -> int:
        return self.n_classes

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.n_informative + self.n_redundant + self.n_repeated > self.n_features:
            raise ValueError("n_informative + n_redundant + n_repeated must be <= n_features")
        if self.n_classes * self.n_clusters_per_class > 2**self.n_informative:
            raise ValueError("n_classes * n_clusters_per_class must be <= 2**n_informative")
        if self.weights is not None and len(self.weights) not in {
            self.n_classes - 1,
            self.n_classes,
        }:
            raise ValueError("weights needs n_classes or n_classes - 1 values")
        if self.weights is not None and sum(self.weights) > 1 + 1e-9:
            raise ValueError("weights must sum to at most 1")
        for name in ("shift", "scale"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != self.n_features:
                raise ValueError(f"{name} needs one value per feature ({self.n_features})")
        _check_size(self.n_samples, self.sample_shape(), self.target_shape())
        return self


CLASS_KINDS = frozenset(
    {
        TargetKind.CLASS_INDEX,
        TargetKind.PROBABILITIES,
        TargetKind.LOG_PROBABILITIES,
        TargetKind.MULTI_LABEL,
        TargetKind.MULTI_LABEL_INDICES,
    }
)
TWO_CLASS_KINDS = frozenset({TargetKind.BINARY, TargetKind.SIGN})


class RandomSpec(DatasetBase):
    """Random tensors: features from N(0, 1), then targets of target_kind, unrelated to them.

    target_kind defaults to class_index when num_classes is given, else to regression. Class
    kinds need num_classes; probabilities, log_probabilities, multi_label and
    multi_label_indices targets have num_classes columns, binary targets one, and class_index
    targets target_shape (default ()); regression, count and sign targets have target_shape
    (default (1,)).
    """

    # num_classes and target_shape are also the metadata methods' names
    model_config = ConfigDict(
        validate_by_name=False, validate_by_alias=True, serialize_by_alias=True
    )

    type: Literal["random"] = "random"
    n_samples: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    input_shape: Annotated[tuple[Dim, ...], Field(min_length=1, max_length=8)]
    num_classes_: int | None = Field(default=None, alias="num_classes", ge=2, le=MAX_CLASSES)
    target_shape_: Annotated[tuple[Dim, ...], Field(max_length=8)] | None = Field(
        default=None, alias="target_shape"
    )
    target_kind: TargetKind = TargetKind.REGRESSION
    random_state: RandomState = 0

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("num_classes") and "target_kind" not in data:
            return {**data, "target_kind": TargetKind.CLASS_INDEX}
        return data

    def sample_shape(self) -> Shape:
        return self.input_shape

    def target_shape(self) -> Shape:
        kind = self.target_kind
        if kind == TargetKind.CLASS_INDEX:
            return self.target_shape_ or ()
        if kind in CLASS_KINDS:
            return (self.num_classes_ or 0,)
        if kind == TargetKind.BINARY:
            return (1,)
        return self.target_shape_ or (1,)

    def num_classes(self) -> int | None:
        if self.target_kind in CLASS_KINDS:
            return self.num_classes_
        return 2 if self.target_kind in TWO_CLASS_KINDS else None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        kind, given = self.target_kind, self.target_shape_
        if kind in CLASS_KINDS and self.num_classes_ is None:
            raise ValueError(f"{kind.value} targets need num_classes")
        if kind not in CLASS_KINDS and self.num_classes_ not in {None, self.num_classes()}:
            raise ValueError(f"{kind.value} targets take no num_classes (or 2 for binary and sign)")
        if given == () and kind != TargetKind.CLASS_INDEX:
            raise ValueError(f"{kind.value} targets need a target_shape with at least one size")
        if given is not None and kind != TargetKind.CLASS_INDEX and given != self.target_shape():
            raise ValueError(f"{kind.value} targets have shape {self.target_shape()}")
        _check_size(self.n_samples, self.sample_shape(), self.target_shape())
        return self


DatasetSpec = Annotated[
    MoonsSpec | RegressionSpec | CirclesSpec | BlobsSpec | ClassificationSpec | RandomSpec,
    Field(discriminator="type"),
]
