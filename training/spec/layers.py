"""Layer specs: one class per torch.nn layer, fields named and defaulted as in torch.

Sizes that follow from the layer before (in_features, in_channels, num_features, num_channels and,
when omitted, LayerNorm's normalized_shape) are not fields: the network builder infers them.
Shapes below are per sample, without the batch dimension; dimension arguments (Flatten's
start_dim, Softmax's dim, ...) count the batch dimension, as torch does.
"""

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel

MAX_UNITS = 1_000_000
Units = Annotated[int, Field(gt=0, le=MAX_UNITS)]
Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]
Size1d = Positive | tuple[Positive]
Size2d = Positive | tuple[Positive, Positive]
Padding1d = NonNegative | tuple[NonNegative]
Padding2d = NonNegative | tuple[NonNegative, NonNegative]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Eps = Annotated[float, Field(gt=0.0)]
Momentum = Annotated[float, Field(ge=0.0, le=1.0)]
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
DimSize = Annotated[int, Field(ge=-1)]
Layout = tuple[str, ...]

VECTOR: Layout = ("features",)
SEQUENCE: Layout = ("C", "L")
IMAGE: Layout = ("C", "H", "W")


class LayerBase(SpecModel):
    # the per-sample shapes a layer takes; () takes any shape
    input_layouts: ClassVar[tuple[Layout, ...]] = ()
    # a weight of two or more dimensions, so fan-based initialisers can compute fan in and out
    matrix_weight: ClassVar[bool] = False

    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w-]+$")

    def parameter_names(self) -> frozenset[str]:
        """The learnable parameters ("weight", "bias") the built layer has."""
        return frozenset()


def _weight_and_bias(weight: bool, bias: bool) -> frozenset[str]:
    """No parameter without a weight; with one, a bias too when `bias` says so."""
    if not weight:
        return frozenset()
    return frozenset({"weight", "bias"} if bias else {"weight"})


class LinearSpec(LayerBase):
    """nn.Linear; in_features is inferred from the layer before."""

    input_layouts = (VECTOR, ("L", "features"))
    matrix_weight = True
    type: Literal["Linear"] = "Linear"
    out_features: Units
    bias: bool = True

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(True, self.bias)


def _conv_problem(out_channels: int, groups: int, stride: object, padding: object) -> str | None:
    if padding == "same" and stride not in (1, (1,), (1, 1)):
        return "padding='same' needs stride 1 (torch has no strided 'same' convolution)"
    if out_channels % groups:
        return "out_channels must be divisible by groups"
    return None


class Conv1dSpec(LayerBase):
    """nn.Conv1d on (C, L) samples; in_channels is inferred from the layer before."""

    input_layouts = (SEQUENCE,)
    matrix_weight = True
    type: Literal["Conv1d"] = "Conv1d"
    out_channels: Units
    kernel_size: Size1d
    stride: Size1d = 1
    padding: Padding1d | Literal["valid", "same"] = 0
    dilation: Size1d = 1
    groups: Positive = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(True, self.bias)

    @model_validator(mode="after")
    def _arguments_fit(self) -> Self:
        problem = _conv_problem(self.out_channels, self.groups, self.stride, self.padding)
        if problem:
            raise ValueError(problem)
        return self


class Conv2dSpec(LayerBase):
    """nn.Conv2d on (C, H, W) samples; in_channels is inferred from the layer before."""

    input_layouts = (IMAGE,)
    matrix_weight = True
    type: Literal["Conv2d"] = "Conv2d"
    out_channels: Units
    kernel_size: Size2d
    stride: Size2d = 1
    padding: Padding2d | Literal["valid", "same"] = 0
    dilation: Size2d = 1
    groups: Positive = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(True, self.bias)

    @model_validator(mode="after")
    def _arguments_fit(self) -> Self:
        problem = _conv_problem(self.out_channels, self.groups, self.stride, self.padding)
        if problem:
            raise ValueError(problem)
        return self


class MaxPool1dSpec(LayerBase):
    """nn.MaxPool1d on (C, L) samples; no return_indices (Sequential passes one tensor)."""

    input_layouts = (SEQUENCE,)
    type: Literal["MaxPool1d"] = "MaxPool1d"
    kernel_size: Size1d
    stride: Size1d | None = None
    padding: Padding1d = 0
    dilation: Size1d = 1
    ceil_mode: bool = False


class MaxPool2dSpec(LayerBase):
    """nn.MaxPool2d on (C, H, W) samples; no return_indices (Sequential passes one tensor)."""

    input_layouts = (IMAGE,)
    type: Literal["MaxPool2d"] = "MaxPool2d"
    kernel_size: Size2d
    stride: Size2d | None = None
    padding: Padding2d = 0
    dilation: Size2d = 1
    ceil_mode: bool = False


class AvgPool1dSpec(LayerBase):
    input_layouts = (SEQUENCE,)
    type: Literal["AvgPool1d"] = "AvgPool1d"
    kernel_size: Size1d
    stride: Size1d | None = None
    padding: Padding1d = 0
    ceil_mode: bool = False
    count_include_pad: bool = True


class AvgPool2dSpec(LayerBase):
    input_layouts = (IMAGE,)
    type: Literal["AvgPool2d"] = "AvgPool2d"
    kernel_size: Size2d
    stride: Size2d | None = None
    padding: Padding2d = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: Positive | None = None


class AdaptiveAvgPool2dSpec(LayerBase):
    input_layouts = (IMAGE,)
    type: Literal["AdaptiveAvgPool2d"] = "AdaptiveAvgPool2d"
    output_size: Positive | tuple[Positive | None, Positive | None]


class FlattenSpec(LayerBase):
    type: Literal["Flatten"] = "Flatten"
    start_dim: int = 1
    end_dim: int = -1


def _one_unknown(sizes: tuple[int, ...]) -> None:
    if 0 in sizes:
        raise ValueError("sizes must be positive, or -1 for the one inferred size")
    if sizes.count(-1) > 1:
        raise ValueError("at most one size may be -1")


class UnflattenSpec(LayerBase):
    type: Literal["Unflatten"] = "Unflatten"
    dim: int
    unflattened_size: tuple[DimSize, ...] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _sizes_valid(self) -> Self:
        _one_unknown(self.unflattened_size)
        return self


class ReshapeSpec(LayerBase):
    """Reshape each sample to target_shape, like Keras' Reshape; one size may be -1. gradq's own."""

    type: Literal["Reshape"] = "Reshape"
    target_shape: tuple[DimSize, ...] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _sizes_valid(self) -> Self:
        _one_unknown(self.target_shape)
        return self


class DropoutSpec(LayerBase):
    type: Literal["Dropout"] = "Dropout"
    p: Probability = 0.5
    inplace: bool = False


class Dropout2dSpec(LayerBase):
    """nn.Dropout2d: zeroes whole channels of (C, H, W) samples."""

    input_layouts = (IMAGE,)
    type: Literal["Dropout2d"] = "Dropout2d"
    p: Probability = 0.5
    inplace: bool = False


class _BatchNormBase(LayerBase):
    eps: Eps = 1e-05
    momentum: Momentum | None = 0.1
    affine: bool = True
    track_running_stats: bool = True
    bias: bool = True

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(self.affine, self.bias)


class BatchNorm1dSpec(_BatchNormBase):
    """nn.BatchNorm1d on (C,) or (C, L) samples; num_features is inferred."""

    input_layouts = (("C",), SEQUENCE)
    type: Literal["BatchNorm1d"] = "BatchNorm1d"


class BatchNorm2dSpec(_BatchNormBase):
    """nn.BatchNorm2d on (C, H, W) samples; num_features is inferred."""

    input_layouts = (IMAGE,)
    type: Literal["BatchNorm2d"] = "BatchNorm2d"


class LayerNormSpec(LayerBase):
    """nn.LayerNorm; normalized_shape defaults to the whole sample: (C, H, W) for an image."""

    type: Literal["LayerNorm"] = "LayerNorm"
    normalized_shape: Positive | list[Positive] | None = Field(
        default=None,
        description="trailing dimensions to normalise over; null means the whole sample",
    )
    eps: Eps = 1e-05
    elementwise_affine: bool = True
    bias: bool = True

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(self.elementwise_affine, self.bias)


class GroupNormSpec(LayerBase):
    """nn.GroupNorm on (C, ...) samples; num_channels is inferred and must divide by num_groups."""

    type: Literal["GroupNorm"] = "GroupNorm"
    num_groups: Units
    eps: Eps = 1e-05
    affine: bool = True
    bias: bool = True

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(self.affine, self.bias)


class _InstanceNormBase(LayerBase):
    eps: Eps = 1e-05
    momentum: Momentum = 0.1
    affine: bool = False
    track_running_stats: bool = False
    bias: bool = True

    def parameter_names(self) -> frozenset[str]:
        return _weight_and_bias(self.affine, self.bias)


class InstanceNorm1dSpec(_InstanceNormBase):
    """nn.InstanceNorm1d on (C, L) samples; num_features is inferred."""

    input_layouts = (SEQUENCE,)
    type: Literal["InstanceNorm1d"] = "InstanceNorm1d"


class InstanceNorm2dSpec(_InstanceNormBase):
    """nn.InstanceNorm2d on (C, H, W) samples; num_features is inferred."""

    input_layouts = (IMAGE,)
    type: Literal["InstanceNorm2d"] = "InstanceNorm2d"


class EmbeddingSpec(LayerBase):
    """nn.Embedding: integer indices -> vectors; only as the first layer, on integer features."""

    matrix_weight = True
    type: Literal["Embedding"] = "Embedding"
    num_embeddings: Units
    embedding_dim: Units
    padding_idx: int | None = None
    max_norm: float | None = Field(default=None, gt=0.0)
    norm_type: float = Field(default=2.0, gt=0.0)
    scale_grad_by_freq: bool = False

    def parameter_names(self) -> frozenset[str]:
        return frozenset({"weight"})

    @model_validator(mode="after")
    def _padding_idx_in_range(self) -> Self:
        if self.padding_idx is not None and not (
            -self.num_embeddings <= self.padding_idx < self.num_embeddings
        ):
            raise ValueError("padding_idx must be within num_embeddings")
        return self


class IdentitySpec(LayerBase):
    type: Literal["Identity"] = "Identity"


class ReLUSpec(LayerBase):
    type: Literal["ReLU"] = "ReLU"
    inplace: bool = False


class LeakyReLUSpec(LayerBase):
    type: Literal["LeakyReLU"] = "LeakyReLU"
    negative_slope: float = 0.01
    inplace: bool = False


class PReLUSpec(LayerBase):
    """nn.PReLU: one learnt slope, or num_parameters = the number of channels (dimension 1)."""

    type: Literal["PReLU"] = "PReLU"
    num_parameters: Units = 1
    init: float = 0.25

    def parameter_names(self) -> frozenset[str]:
        return frozenset({"weight"})


class ELUSpec(LayerBase):
    type: Literal["ELU"] = "ELU"
    alpha: float = 1.0
    inplace: bool = False


class GELUSpec(LayerBase):
    type: Literal["GELU"] = "GELU"
    approximate: Literal["none", "tanh"] = "none"


class SELUSpec(LayerBase):
    type: Literal["SELU"] = "SELU"
    inplace: bool = False


class SiLUSpec(LayerBase):
    type: Literal["SiLU"] = "SiLU"
    inplace: bool = False


class SigmoidSpec(LayerBase):
    type: Literal["Sigmoid"] = "Sigmoid"


class TanhSpec(LayerBase):
    type: Literal["Tanh"] = "Tanh"


SOFTMAX_DIM = "null means 1, the class dimension (not torch's deprecated implicit choice)"


class SoftmaxSpec(LayerBase):
    """nn.Softmax; dim null means dimension 1, the class dimension."""

    type: Literal["Softmax"] = "Softmax"
    dim: int | None = Field(default=None, description=SOFTMAX_DIM)


class LogSoftmaxSpec(LayerBase):
    """nn.LogSoftmax; dim null means dimension 1, the class dimension."""

    type: Literal["LogSoftmax"] = "LogSoftmax"
    dim: int | None = Field(default=None, description=SOFTMAX_DIM)


class SoftplusSpec(LayerBase):
    type: Literal["Softplus"] = "Softplus"
    beta: float = Field(default=1.0, gt=0.0)
    threshold: float = 20.0


class HardtanhSpec(LayerBase):
    type: Literal["Hardtanh"] = "Hardtanh"
    min_val: float = -1.0
    max_val: float = 1.0
    inplace: bool = False

    @model_validator(mode="after")
    def _range_not_empty(self) -> Self:
        if self.max_val <= self.min_val:
            raise ValueError("max_val must be greater than min_val")
        return self


LayerSpec = Annotated[
    LinearSpec
    | Conv1dSpec
    | Conv2dSpec
    | MaxPool1dSpec
    | MaxPool2dSpec
    | AvgPool1dSpec
    | AvgPool2dSpec
    | AdaptiveAvgPool2dSpec
    | FlattenSpec
    | UnflattenSpec
    | ReshapeSpec
    | DropoutSpec
    | Dropout2dSpec
    | BatchNorm1dSpec
    | BatchNorm2dSpec
    | LayerNormSpec
    | GroupNormSpec
    | InstanceNorm1dSpec
    | InstanceNorm2dSpec
    | EmbeddingSpec
    | IdentitySpec
    | ReLUSpec
    | LeakyReLUSpec
    | PReLUSpec
    | ELUSpec
    | GELUSpec
    | SELUSpec
    | SiLUSpec
    | SigmoidSpec
    | TanhSpec
    | SoftmaxSpec
    | LogSoftmaxSpec
    | SoftplusSpec
    | HardtanhSpec,
    Field(discriminator="type"),
]
