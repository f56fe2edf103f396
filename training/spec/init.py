"""Weight initialisation specs: torch.nn.init functions, and rules that apply them to layers."""

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator

from training.spec.base import SpecModel
from training.spec.layers import LayerBase

# the values torch.nn.init.calculate_gain accepts
Nonlinearity = Literal[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
]
FanMode = Literal["fan_in", "fan_out"]
Gain = Annotated[float, Field(ge=0.0)]
Std = Annotated[float, Field(ge=0.0)]


class InitializerBase(SpecModel):
    # fan in and fan out exist only for tensors of two or more dimensions
    needs_matrix: ClassVar[bool] = False


class NormalSpec(InitializerBase):
    type: Literal["normal_"] = "normal_"
    mean: float = 0.0
    std: Std = 1.0


class UniformSpec(InitializerBase):
    type: Literal["uniform_"] = "uniform_"
    a: float = 0.0
    b: float = 1.0

    @model_validator(mode="after")
    def _range_not_reversed(self) -> Self:
        if self.b < self.a:
            raise ValueError("b must not be less than a")
        return self


class ConstantSpec(InitializerBase):
    type: Literal["constant_"] = "constant_"
    val: float


class ZerosSpec(InitializerBase):
    type: Literal["zeros_"] = "zeros_"


class OnesSpec(InitializerBase):
    type: Literal["ones_"] = "ones_"


class XavierUniformSpec(InitializerBase):
    needs_matrix = True
    type: Literal["xavier_uniform_"] = "xavier_uniform_"
    gain: Gain = 1.0


class XavierNormalSpec(InitializerBase):
    needs_matrix = True
    type: Literal["xavier_normal_"] = "xavier_normal_"
    gain: Gain = 1.0


class KaimingUniformSpec(InitializerBase):
    needs_matrix = True
    type: Literal["kaiming_uniform_"] = "kaiming_uniform_"
    a: float = 0
    mode: FanMode = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"


class KaimingNormalSpec(InitializerBase):
    needs_matrix = True
    type: Literal["kaiming_normal_"] = "kaiming_normal_"
    a: float = 0
    mode: FanMode = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"


class OrthogonalSpec(InitializerBase):
    needs_matrix = True
    type: Literal["orthogonal_"] = "orthogonal_"
    gain: Gain = 1


class TruncNormalSpec(InitializerBase):
    type: Literal["trunc_normal_"] = "trunc_normal_"
    mean: float = 0.0
    std: Std = 1.0
    a: float = -2.0
    b: float = 2.0

    @model_validator(mode="after")
    def _range_not_empty(self) -> Self:
        if self.b <= self.a:
            raise ValueError("b must be greater than a")
        return self


InitializerSpec = Annotated[
    NormalSpec
    | UniformSpec
    | ConstantSpec
    | ZerosSpec
    | OnesSpec
    | XavierUniformSpec
    | XavierNormalSpec
    | KaimingUniformSpec
    | KaimingNormalSpec
    | OrthogonalSpec
    | TruncNormalSpec,
    Field(discriminator="type"),
]


def spec_type(spec: SpecModel) -> str:
    """The `type` tag of a spec: the torch name it stands for."""
    return str(type(spec).model_fields["type"].default)


class InitRuleSpec(SpecModel):
    """Initialise the layers named in `layers` and every layer whose type is in `layer_types`."""

    layers: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], max_length=1000
    )
    layer_types: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], max_length=100
    )
    weight: InitializerSpec | None = None
    bias: InitializerSpec | None = None

    @field_validator("bias")
    @classmethod
    def _bias_is_a_vector(cls, bias: InitializerBase | None) -> InitializerBase | None:
        if bias is not None and bias.needs_matrix:
            raise ValueError(f"{spec_type(bias)} needs two or more dimensions; a bias has one")
        return bias

    @model_validator(mode="after")
    def _selects_and_sets_something(self) -> Self:
        if not (self.layers or self.layer_types):
            raise ValueError("a rule needs `layers` or `layer_types`")
        if self.weight is None and self.bias is None:
            raise ValueError("a rule needs a `weight` or a `bias` initialiser")
        return self

    def selects(self, name: str, layer_type: str) -> bool:
        return name in self.layers or layer_type in self.layer_types

    def targets(self) -> list[tuple[str, InitializerBase]]:
        """(parameter name, initialiser) pairs, weight before bias."""
        pairs = [("weight", self.weight), ("bias", self.bias)]
        return [(param, init) for param, init in pairs if init is not None]


def _parameter_problem(
    label: str, layer: LayerBase, param: str, init: InitializerBase
) -> str | None:
    if param not in layer.parameter_names():
        return f"{label} has no {param}"
    if param == "weight" and init.needs_matrix and not layer.matrix_weight:
        return f"{spec_type(init)} needs a weight of two or more dimensions; {label} has a vector"
    return None


def _name_problems(rule: InitRuleSpec, layers: Sequence[tuple[str, LayerBase]]) -> list[str]:
    by_name = dict(layers)
    problems = []
    for name in rule.layers:
        layer = by_name.get(name)
        if layer is None:
            problems.append(f"no layer is named {name!r}; the layers are {', '.join(by_name)}")
            continue
        label = f"layer {name!r} ({spec_type(layer)})"
        problems += [
            problem
            for param, init in rule.targets()
            if (problem := _parameter_problem(label, layer, param, init))
        ]
    return problems


def _type_problems(rule: InitRuleSpec, layers: Sequence[tuple[str, LayerBase]]) -> list[str]:
    problems = []
    for layer_type in rule.layer_types:
        of_type = [layer for _, layer in layers if spec_type(layer) == layer_type]
        if not of_type:
            problems.append(f"the model has no layer of type {layer_type!r}")
            continue
        for param, init in rule.targets():
            having = [layer for layer in of_type if param in layer.parameter_names()]
            if not having:
                problems.append(f"no {layer_type} layer of this model has a {param}")
            elif problem := _parameter_problem(layer_type, having[0], param, init):
                problems.append(problem)
    return problems


def rule_problems(
    rule: InitRuleSpec, layers: Sequence[tuple[str, LayerBase]]
) -> list[tuple[str, str]]:
    """Why a rule does not fit the model's (name, layer) list, as (rule field, reason) pairs."""
    return [("layers", problem) for problem in _name_problems(rule, layers)] + [
        ("layer_types", problem) for problem in _type_problems(rule, layers)
    ]
