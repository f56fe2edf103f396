"""Optimizer specs named and defaulted as in torch.optim, plus Lookahead, Ranger, param groups."""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from training.spec.base import SpecModel

PositiveLr = Annotated[float, Field(gt=0.0)]
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Eps = Positive
EtaMinus = Annotated[float, Field(gt=0.0, lt=1.0)]
EtaPlus = Annotated[float, Field(gt=1.0)]
LookaheadK = Annotated[int, Field(ge=1, description="fast steps between two slow-weight updates")]
LookaheadAlpha = Annotated[
    float, Field(ge=0.0, le=1.0, description="how far the slow weights move towards the fast ones")
]


class ParamGroupSpec(SpecModel):
    """The parameters of some named layers, with their own optimizer options."""

    layers: list[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")]] = Field(
        min_length=1, description="layer names, as ModelSpec.layer_names()"
    )
    lr: PositiveLr | None = None
    weight_decay: NonNegative | None = None
    momentum: NonNegative | None = None
    betas: tuple[Beta, Beta] | None = None

    def options(self) -> dict[str, Any]:
        """The options this group sets; the others come from the optimizer's own fields."""
        return self.model_dump(exclude={"layers"}, exclude_none=True)


class OptimizerBase(SpecModel):
    """Parameter groups and the no-decay-on-bias switch, shared by every optimizer spec.

    torch's param_groups are, in order: the default group (every parameter of a layer no group
    names), then the groups of `param_groups` in the order written. With `no_decay_on_bias`, each
    of those gets a twin with weight_decay 0, appended after all of them in the same order.
    """

    param_groups: list[ParamGroupSpec] = Field(
        default_factory=list, description="per-layer options; other layers use the default group"
    )
    no_decay_on_bias: bool = Field(
        default=False,
        description="weight decay on weight matrices and kernels only, not on biases and 1-d "
        "(normalisation, PReLU) parameters",
    )

    def referenced_layers(self) -> set[str]:
        """Every layer name the parameter groups mention."""
        return {layer for group in self.param_groups for layer in group.layers}

    @field_validator("param_groups")
    @classmethod
    def _groups_fit(cls, groups: list[ParamGroupSpec]) -> list[ParamGroupSpec]:
        name = cls.model_fields["type"].default
        for index, group in enumerate(groups):
            missing = sorted(set(group.options()) - set(cls.model_fields))
            if missing:
                raise ValueError(
                    f"param_groups[{index}]: {name} has no option {', '.join(missing)}"
                )
        layers = [layer for group in groups for layer in group.layers]
        repeated = sorted({layer for layer in layers if layers.count(layer) > 1})
        if repeated:
            raise ValueError(
                f"a layer belongs to one parameter group only; repeated: {', '.join(repeated)}"
            )
        return groups

    @field_validator("no_decay_on_bias")
    @classmethod
    def _has_weight_decay(cls, value: bool) -> bool:
        if value and "weight_decay" not in cls.model_fields:
            name = cls.model_fields["type"].default
            raise ValueError(f"{name} has no weight_decay to leave off the biases")
        return value


class SGDSpec(OptimizerBase):
    type: Literal["SGD"] = "SGD"
    lr: PositiveLr = 0.001
    momentum: float = Field(default=0.0, ge=0.0)
    dampening: float = 0.0
    weight_decay: float = Field(default=0.0, ge=0.0)
    nesterov: bool = False
    maximize: bool = False

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> Self:
        momenta = [self.momentum] + [
            group.momentum for group in self.param_groups if group.momentum is not None
        ]
        if self.nesterov and (min(momenta) <= 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 (in every group) and dampening 0")
        return self


class ASGDSpec(OptimizerBase):
    type: Literal["ASGD"] = "ASGD"
    lr: PositiveLr = 0.01
    lambd: NonNegative = 0.0001
    alpha: NonNegative = 0.75
    t0: NonNegative = 1000000.0
    weight_decay: NonNegative = 0.0
    maximize: bool = False


class RpropSpec(OptimizerBase):
    type: Literal["Rprop"] = "Rprop"
    lr: PositiveLr = 0.01
    etas: tuple[EtaMinus, EtaPlus] = (0.5, 1.2)
    step_sizes: tuple[NonNegative, Positive] = (1e-06, 50.0)
    maximize: bool = False


class AdamSpec(OptimizerBase):
    type: Literal["Adam"] = "Adam"
    lr: PositiveLr = 0.001
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: float = Field(default=1e-8, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    amsgrad: bool = False
    maximize: bool = False
    decoupled_weight_decay: bool = False


class AdamWSpec(OptimizerBase):
    type: Literal["AdamW"] = "AdamW"
    lr: PositiveLr = 0.001
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: Eps = 1e-08
    weight_decay: NonNegative = 0.01
    amsgrad: bool = False
    maximize: bool = False


class AdamaxSpec(OptimizerBase):
    type: Literal["Adamax"] = "Adamax"
    lr: PositiveLr = 0.002
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: Eps = 1e-08
    weight_decay: NonNegative = 0.0
    maximize: bool = False


class NAdamSpec(OptimizerBase):
    type: Literal["NAdam"] = "NAdam"
    lr: PositiveLr = 0.002
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: Eps = 1e-08
    weight_decay: NonNegative = 0.0
    momentum_decay: NonNegative = 0.004
    decoupled_weight_decay: bool = False
    maximize: bool = False


class RAdamSpec(OptimizerBase):
    type: Literal["RAdam"] = "RAdam"
    lr: PositiveLr = 0.001
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: Eps = 1e-08
    weight_decay: NonNegative = 0.0
    decoupled_weight_decay: bool = False
    maximize: bool = False


class AdadeltaSpec(OptimizerBase):
    type: Literal["Adadelta"] = "Adadelta"
    lr: PositiveLr = 1.0
    rho: float = Field(default=0.9, ge=0.0, le=1.0)
    eps: Eps = 1e-06
    weight_decay: NonNegative = 0.0
    maximize: bool = False


class AdagradSpec(OptimizerBase):
    type: Literal["Adagrad"] = "Adagrad"
    lr: PositiveLr = 0.01
    lr_decay: NonNegative = 0.0
    weight_decay: NonNegative = 0.0
    initial_accumulator_value: NonNegative = 0.0
    eps: Eps = 1e-10
    maximize: bool = False


class RMSpropSpec(OptimizerBase):
    type: Literal["RMSprop"] = "RMSprop"
    lr: PositiveLr = 0.01
    alpha: NonNegative = 0.99
    eps: Eps = 1e-08
    weight_decay: NonNegative = 0.0
    momentum: NonNegative = 0.0
    centered: bool = False
    maximize: bool = False


# LBFGS re-evaluates the loop's closure (up to max_eval times a step) on the same batch.
class LBFGSSpec(OptimizerBase):
    type: Literal["LBFGS"] = "LBFGS"
    lr: PositiveLr = 1.0
    max_iter: int = Field(default=20, ge=1)
    max_eval: int | None = Field(default=None, ge=1, description="null means max_iter * 5 // 4")
    tolerance_grad: NonNegative = 1e-07
    tolerance_change: NonNegative = 1e-09
    history_size: int = Field(default=100, ge=1)
    line_search_fn: Literal["strong_wolfe"] | None = None

    @field_validator("param_groups")
    @classmethod
    def _one_group(cls, groups: list[ParamGroupSpec]) -> list[ParamGroupSpec]:
        if groups:
            raise ValueError("LBFGS optimizes a single parameter group")
        return groups


class RangerSpec(OptimizerBase):
    """Ranger: RAdam inside Lookahead, with the defaults of the original Ranger code (2019).

    Those defaults are lr=1e-3, betas=(0.95, 0.999), eps=1e-5, weight_decay=0, k=6, alpha=0.5
    (lessw2020/Ranger-Deep-Learning-Optimizer, ranger.py). As there, weight decay is decoupled
    (torch RAdam's decoupled_weight_decay=True) and the rectification threshold is 5 (fixed in
    torch's RAdam). The gradient centralisation of Ranger 2020 (use_gc) is not included.
    """

    type: Literal["Ranger"] = "Ranger"
    lr: PositiveLr = 0.001
    betas: tuple[Beta, Beta] = (0.95, 0.999)
    eps: Eps = 1e-05
    weight_decay: NonNegative = 0.0
    k: LookaheadK = 6
    alpha: LookaheadAlpha = 0.5


# Lookahead wraps these; LBFGS is left out as its step runs its own inner iterations.
InnerOptimizerSpec = Annotated[
    SGDSpec
    | ASGDSpec
    | RpropSpec
    | AdamSpec
    | AdamWSpec
    | AdamaxSpec
    | NAdamSpec
    | RAdamSpec
    | AdadeltaSpec
    | AdagradSpec
    | RMSpropSpec,
    Field(discriminator="type"),
]


class LookaheadSpec(SpecModel):
    """Lookahead (Zhang et al. 2019): every k steps the slow weights move alpha towards the fast.

    After each k-th step of the inner optimizer: slow <- slow + alpha * (fast - slow), then
    fast <- slow. The slow weights start as the weights at the first step. Parameter groups and
    no_decay_on_bias belong to the inner optimizer.
    """

    type: Literal["Lookahead"] = "Lookahead"
    k: LookaheadK = 5
    alpha: LookaheadAlpha = 0.5
    optimizer: InnerOptimizerSpec

    def referenced_layers(self) -> set[str]:
        """Every layer name the inner optimizer's parameter groups mention."""
        return self.optimizer.referenced_layers()


OptimizerSpec = Annotated[
    SGDSpec
    | ASGDSpec
    | RpropSpec
    | AdamSpec
    | AdamWSpec
    | AdamaxSpec
    | NAdamSpec
    | RAdamSpec
    | AdadeltaSpec
    | AdagradSpec
    | RMSpropSpec
    | LBFGSSpec
    | LookaheadSpec
    | RangerSpec,
    Field(discriminator="type"),
]
