"""Data set specs: what a job trains on, which target kind it provides, and the tensors' shapes."""

import math
import uuid
from abc import abstractmethod
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from training.datasets.info import UploadInfo
from training.spec.base import Loc, SpecModel, errors_at
from training.spec.preprocessing import AugmentationStep, PreprocessingStep, SplitSpec, step_shape
from training.spec.targets import TargetKind

MAX_GENERATED_SAMPLES = 10_000_000
# features plus targets of one generated set: 50M float32 values are 200 MB
MAX_GENERATED_VALUES = 50_000_000
MAX_CLASSES = 100_000

Shape = tuple[int, ...]
Dim = Annotated[int, Field(ge=1, le=1_000_000)]
RandomState = Annotated[int, Field(ge=0, lt=2**32)]
# targets a split can stratify on: one class label per sample
STRATIFIABLE = frozenset(
    {TargetKind.CLASS_INDEX, TargetKind.PROBABILITIES, TargetKind.BINARY, TargetKind.SIGN}
)


class DatasetBase(SpecModel):
    """Every data set spec; the metadata methods are cheap and generate nothing.

    split holds validation and test samples out; preprocessing runs on every split, fitted on
    the training split; augmentation runs on training batches only.
    """

    split: SplitSpec | None = None
    preprocessing: list[PreprocessingStep] = Field(default_factory=list, max_length=64)
    augmentation: list[AugmentationStep] = Field(default_factory=list, max_length=64)
    _data_dir: Path | None = PrivateAttr(default=None)

    @abstractmethod
    def loaded_shape(self) -> Shape:
        """One sample's feature shape as loaded, before preprocessing."""

    @abstractmethod
    def target_shape(self) -> Shape:
        """One sample's target shape; () for a class index."""

    @abstractmethod
    def num_classes(self) -> int | None:
        """The number of classes or labels the targets encode; None for real-valued targets."""

    def kind(self) -> TargetKind:
        """target_kind, which a subclass declares as a field or a class variable."""
        kind: TargetKind = self.target_kind  # type: ignore[attr-defined]
        return kind

    def sample_shape(self) -> Shape:
        """One sample's feature shape as the network sees it, after preprocessing."""
        shape = self.loaded_shape()
        for step in [*self.preprocessing, *self.augmentation]:
            shape = step_shape(step, shape)
        return shape

    def size(self) -> int | None:
        """The number of samples; None while a file-backed set is not resolved."""
        return int(getattr(self, "n_samples", 0))

    def resolved(self) -> bool:
        """Whether the metadata is known; file-backed sets learn it from the server's files."""
        return True

    def split_sizes(self) -> tuple[int, int, int] | None:
        """(train, val, test) sample counts, or None while the size is unknown."""
        n = self.size()
        if n is None:
            return None
        return self.split.sizes(n) if self.split else (n, 0, 0)

    @property
    def data_dir(self) -> Path | None:
        """The server's data directory, for builders that are given none."""
        return self._data_dir

    def bind(self, data_dir: Path) -> None:
        """Remember where the server keeps data files (the validate endpoint's dry run)."""
        self._data_dir = data_dir

    def _step_problems(self) -> list[tuple[Loc, str, Any]]:
        shape = self.loaded_shape()
        steps: list[tuple[str, list[Any]]] = [
            ("preprocessing", self.preprocessing),
            ("augmentation", self.augmentation),
        ]
        for field, entries in steps:
            for index, step in enumerate(entries):
                try:
                    shape = step_shape(step, shape)
                except ValueError as exc:
                    return [((field, index), str(exc), step.type)]
        return []

    def _split_problems(self) -> list[tuple[Loc, str, Any]]:
        sizes = self.split_sizes()
        if self.split is None or sizes is None:
            return []
        folds = self.split.fold_sizes(sum(sizes))
        if folds and min(folds) < 1:
            message = f"{len(folds)} folds need at least {len(folds)} samples besides the test ones"
            return [(("split", "folds"), f"{message}; there are {sum(folds)}", len(folds))]
        if sizes[0] < 1:
            message = f"val and test take {sizes[1] + sizes[2]} of {sum(sizes)} samples"
            return [(("split",), f"{message}; training needs at least one", None)]
        kind = self.kind()
        if self.split.stratify and (
            kind not in STRATIFIABLE or (kind == TargetKind.CLASS_INDEX and self.target_shape())
        ):
            targets = f"{kind.value} targets of shape {self.target_shape()}"
            message = f"stratify needs one class label per sample; this set has {targets}"
            return [(("split", "stratify"), message, True)]
        return []

    @model_validator(mode="after")
    def _steps_and_split_fit(self) -> Self:
        if not self.resolved():
            return self
        problems = self._step_problems() + self._split_problems()
        if problems:
            raise errors_at("dataset_mismatch", problems)
        return self


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

    def loaded_shape(self) -> Shape:
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

    def loaded_shape(self) -> Shape:
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

    def loaded_shape(self) -> Shape:
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

    def loaded_shape(self) -> Shape:
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
        _check_size(self.n_samples, self.loaded_shape(), self.target_shape())
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

    def loaded_shape(self) -> Shape:
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
        _check_size(self.n_samples, self.loaded_shape(), self.target_shape())
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

    def loaded_shape(self) -> Shape:
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
        _check_size(self.n_samples, self.loaded_shape(), self.target_shape())
        return self


class LinearSpec(DatasetBase):
    """y = X w + b + noise, the weight-decay article's set: X ~ N(0, 1), every weight equal to w.

    As d2l's synthetic_data: X of n samples and d features, then y = X @ (w * ones(d)) + b +
    noise * N(0, 1), both drawn from numpy's Generator(random_state).
    """

    target_kind: ClassVar[TargetKind] = TargetKind.REGRESSION
    type: Literal["linear"] = "linear"
    n: int = Field(default=100, ge=1, le=MAX_GENERATED_SAMPLES)
    d: int = Field(default=200, ge=1, le=100_000)
    w: float = 0.01
    b: float = 0.05
    noise: float = Field(default=0.01, ge=0.0)
    random_state: RandomState = 0

    @property
    def n_samples(self) -> int:
        return self.n

    def loaded_shape(self) -> Shape:
        return (self.d,)

    def target_shape(self) -> Shape:
        return (1,)

    def num_classes(self) -> None:
        return None

    @model_validator(mode="after")
    def _not_too_large(self) -> Self:
        _check_size(self.n, (self.d,), (1,))
        return self


class BundledClassesBase(LabelledSetBase):
    """A classification set scikit-learn ships; loads offline, features as float32."""

    rows: ClassVar[int]
    features: ClassVar[int]
    classes: ClassVar[int]

    @property
    def n_samples(self) -> int:
        return self.rows

    def loaded_shape(self) -> Shape:
        return (self.features,)

    def num_classes(self) -> int:
        return self.classes


class IrisSpec(BundledClassesBase):
    """scikit-learn's iris: 150 flowers, 4 measurements, 3 species."""

    rows, features, classes = 150, 4, 3
    type: Literal["iris"] = "iris"


class WineSpec(BundledClassesBase):
    """scikit-learn's wine: 178 wines, 13 chemical measurements, 3 cultivars."""

    rows, features, classes = 178, 13, 3
    type: Literal["wine"] = "wine"


class BreastCancerSpec(BundledClassesBase):
    """scikit-learn's breast_cancer: 569 tumours, 30 features, malignant (0) or benign (1)."""

    rows, features, classes = 569, 30, 2
    type: Literal["breast_cancer"] = "breast_cancer"


class DigitsSpec(BundledClassesBase):
    """scikit-learn's digits: 1797 8x8 images of the digits 0-9, pixel values 0-16.

    flatten gives 64 features, as scikit-learn does; false gives 1x8x8 images for conv nets.
    """

    rows, features, classes = 1797, 64, 10
    type: Literal["digits"] = "digits"
    flatten: bool = True

    def loaded_shape(self) -> Shape:
        return (64,) if self.flatten else (1, 8, 8)


class DiabetesSpec(DatasetBase):
    """scikit-learn's diabetes: 442 patients, 10 features, disease progression after a year."""

    target_kind: ClassVar[TargetKind] = TargetKind.REGRESSION
    type: Literal["diabetes"] = "diabetes"
    scaled: bool = True

    @property
    def n_samples(self) -> int:
        return 442

    def loaded_shape(self) -> Shape:
        return (10,)

    def target_shape(self) -> Shape:
        return (1,)

    def num_classes(self) -> None:
        return None


class LinnerudSpec(DatasetBase):
    """scikit-learn's linnerud: 20 men, 3 exercises, 3 physiological measurements as targets."""

    target_kind: ClassVar[TargetKind] = TargetKind.REGRESSION
    type: Literal["linnerud"] = "linnerud"

    @property
    def n_samples(self) -> int:
        return 20

    def loaded_shape(self) -> Shape:
        return (3,)

    def target_shape(self) -> Shape:
        return (3,)

    def num_classes(self) -> None:
        return None


SERVER_FILLED = "filled in by the server before the job is stored; a value sent here is replaced"


class IdxInfo(SpecModel):
    """What the server found in a set's IDX files."""

    n_samples: int = Field(ge=1)


class IdxSetBase(LabelledSetBase):
    """28x28 grey images and 10 classes from IDX files in the server's data directory.

    The files (gzipped or not) go into <GRADQ_DATA_DIR>/datasets/mnist/ or .../fashion_mnist/
    under their standard names; pixels are scaled to [0, 1] as torchvision's ToTensor does.
    """

    directory: ClassVar[str]
    train: bool = Field(default=True, description="the training files; false: the t10k files")
    flatten: bool = Field(default=False, description="784 features instead of 1x28x28 images")
    max_samples: int | None = Field(default=None, ge=1, description="only the first ones")
    info: IdxInfo | None = Field(default=None, description=SERVER_FILLED)

    @property
    def n_samples(self) -> int:
        return self.size() or 0

    def size(self) -> int | None:
        if self.info is None:
            return None
        return min(self.info.n_samples, self.max_samples or self.info.n_samples)

    def resolved(self) -> bool:
        return self.info is not None

    def loaded_shape(self) -> Shape:
        return (784,) if self.flatten else (1, 28, 28)

    def num_classes(self) -> int:
        return 10


class MnistSpec(IdxSetBase):
    """MNIST: handwritten digits, 60,000 training and 10,000 test images."""

    directory = "mnist"
    type: Literal["mnist"] = "mnist"


class FashionMnistSpec(IdxSetBase):
    """Fashion-MNIST: Zalando's clothing images, 60,000 training and 10,000 test images."""

    directory = "fashion_mnist"
    type: Literal["fashion_mnist"] = "fashion_mnist"


def _labels(info: UploadInfo) -> bool:
    if info.label_type == "text":
        return True
    return info.label_type == "integer" and (info.label_min or 0) >= 0


def upload_target_kinds(info: UploadInfo) -> list[TargetKind]:
    """The target kinds an upload's labels can be encoded as."""
    kinds: list[TargetKind] = []
    classes = info.num_labels or 0
    if _labels(info) and 1 <= classes <= MAX_CLASSES:
        kinds.append(TargetKind.CLASS_INDEX)
        if info.label_shape == ():
            kinds.append(TargetKind.PROBABILITIES)
            if classes == 2:
                kinds += [TargetKind.BINARY, TargetKind.SIGN]
    binary_values = (
        info.label_min is not None and info.label_min >= 0 and (info.label_max or 0) <= 1
    )
    if info.label_type == "integer" and len(info.label_shape) == 1 and binary_values:
        kinds.append(TargetKind.MULTI_LABEL)
    if info.label_type != "text":
        kinds.append(TargetKind.REGRESSION)
        if info.label_type == "integer" and (info.label_min or 0) >= 0:
            kinds.append(TargetKind.COUNT)
    return kinds


class UploadSpec(DatasetBase):
    """A data set uploaded with POST /api/v1/datasets, named by its id.

    target_kind says how its labels are encoded: class_index, probabilities (one-hot), binary or
    sign for class labels; multi_label for 0/1 label columns; regression or count for numbers.
    """

    type: Literal["upload"] = "upload"
    id: uuid.UUID
    target_kind: TargetKind = TargetKind.CLASS_INDEX
    info: UploadInfo | None = Field(default=None, description=SERVER_FILLED)

    @property
    def n_samples(self) -> int:
        return self.info.n_samples if self.info else 0

    def size(self) -> int | None:
        return self.info.n_samples if self.info else None

    def resolved(self) -> bool:
        return self.info is not None

    def loaded_shape(self) -> Shape:
        if self.info is None:
            raise LookupError(f"upload {self.id} is not resolved")
        return self.info.sample_shape

    def target_shape(self) -> Shape:
        kind, info = self.target_kind, self.info
        if kind == TargetKind.CLASS_INDEX:
            return info.label_shape if info else ()
        if kind in {TargetKind.PROBABILITIES, TargetKind.MULTI_LABEL}:
            return (self.num_classes() or 1,)
        if info is None or info.label_shape == () or kind in TWO_CLASS_KINDS:
            return (1,)
        return info.label_shape

    def num_classes(self) -> int | None:
        if self.info is None:
            return None
        if self.target_kind == TargetKind.MULTI_LABEL:
            return self.info.label_shape[0]
        if self.target_kind in CLASS_KINDS or self.target_kind in TWO_CLASS_KINDS:
            return self.info.num_labels
        return None

    @model_validator(mode="after")
    def _labels_encodable(self) -> Self:
        if self.info is None or self.target_kind in upload_target_kinds(self.info):
            return self
        kinds = ", ".join(kind.value for kind in upload_target_kinds(self.info)) or "none"
        labels = f"{self.info.label_type} labels of shape {self.info.label_shape}"
        message = f"upload {self.id} holds {labels}; the target kinds it can give: {kinds}"
        raise errors_at("dataset_mismatch", [(("target_kind",), message, self.target_kind)])


DatasetSpec = Annotated[
    MoonsSpec
    | RegressionSpec
    | CirclesSpec
    | BlobsSpec
    | ClassificationSpec
    | RandomSpec
    | LinearSpec
    | IrisSpec
    | WineSpec
    | BreastCancerSpec
    | DigitsSpec
    | DiabetesSpec
    | LinnerudSpec
    | MnistSpec
    | FashionMnistSpec
    | UploadSpec,
    Field(discriminator="type"),
]
FILE_BACKED = (IdxSetBase, UploadSpec)
