"""Regularisation outside the optimizer: penalty terms, gradient clipping, a max-norm constraint."""

from typing import Annotated, Literal

from pydantic import Field

from training.spec.base import SpecModel


class ClipGradNormSpec(SpecModel):
    """torch.nn.utils.clip_grad_norm_ after each backward pass."""

    type: Literal["norm"] = "norm"
    max_norm: float = Field(gt=0.0)
    norm_type: float = Field(default=2.0, gt=0.0)


class ClipGradValueSpec(SpecModel):
    """torch.nn.utils.clip_grad_value_ after each backward pass."""

    type: Literal["value"] = "value"
    clip_value: float = Field(gt=0.0)


GradClipSpec = Annotated[ClipGradNormSpec | ClipGradValueSpec, Field(discriminator="type")]


class RegularizationSpec(SpecModel):
    """Terms added to the loss and constraints applied around each optimizer step.

    l1 and l2 add `l1 * sum(|w|)` and `l2 * sum(w**2) / 2` over the weights (not the biases, nor
    normalisation layers' parameters) to the loss that is minimised; the reported train_loss is
    the data loss alone, the penalty is reported as train_penalty. max_norm rescales each weight
    row (one output unit's incoming weights) to at most that L2 norm after every step.
    """

    l1: float = Field(default=0.0, ge=0.0)
    l2: float = Field(default=0.0, ge=0.0)
    grad_clip: GradClipSpec | None = None
    max_norm: float | None = Field(default=None, gt=0.0)
