"""Submission checks that need torch: shapes through the network and into the loss.

Everything runs on the meta device: no weights are allocated and no random number is drawn, so a
huge model is checked in milliseconds. Results are kept by the parts of the spec they read, so a
spec that differs from an earlier one only in, say, lr or seed costs no torch call at all.
"""

import warnings
from dataclasses import dataclass

import torch

from training.build.losses import build_loss
from training.build.networks import LayerShapeError, probe_meta_network
from training.check_cache import CheckCache, check_key
from training.spec import TrainingSpec
from training.spec.losses import last_layer_warnings
from training.spec.targets import TargetKind

INTEGER_TARGETS = frozenset({TargetKind.CLASS_INDEX, TargetKind.MULTI_LABEL_INDICES})
CLASS_TARGETS = frozenset({TargetKind.CLASS_INDEX, TargetKind.PROBABILITIES})
# data-dependent checks (value ranges) cannot run on meta tensors; shapes are checked regardless
_META_LIMITS = ("meta tensor", "on meta", "meta device")


@dataclass(frozen=True)
class Problem:
    """A finding about a spec: loc inside the spec, the message, and whether it blocks the job."""

    loc: tuple[str | int, ...]
    message: str
    blocking: bool = True


@dataclass(frozen=True)
class Findings:
    """What the meta device shows: the parameter count (None if shapes do not fit), the problems."""

    n_parameters: int | None
    problems: tuple[Problem, ...]


FINDINGS: CheckCache[Findings] = CheckCache()


def _last_layer(spec: TrainingSpec) -> tuple[tuple[str | int, ...], str]:
    index = len(spec.model.layers) - 1
    layer = spec.model.layers[index]
    name = spec.model.layer_names()[index]
    return ("model", "layers", index), f"the last layer ({index} '{name}', {layer.type})"


def _meta_target(spec: TrainingSpec) -> torch.Tensor:
    kind = spec.dataset.target_kind
    dtype = torch.int64 if kind in INTEGER_TARGETS else torch.float32
    return torch.empty((2, *spec.dataset.target_shape()), dtype=dtype, device="meta")


def _class_count_problems(spec: TrainingSpec, out_shape: tuple[int, ...]) -> list[Problem]:
    classes = spec.dataset.num_classes()
    if spec.dataset.target_kind not in CLASS_TARGETS or classes is None or not out_shape:
        return []
    loc, last = _last_layer(spec)
    if out_shape[0] < classes:
        message = (
            f"{last} gives {out_shape[0]} outputs per sample, the data set has {classes} classes"
        )
        return [Problem(loc, message)]
    if out_shape[0] > classes:
        message = (
            f"{last} gives {out_shape[0]} outputs per sample, the data set has only {classes} "
            "classes: the extra outputs are never a target"
        )
        return [Problem(loc, message, blocking=False)]
    return []


def _loss_problems(spec: TrainingSpec, out: torch.Tensor) -> list[Problem]:
    loc, last = _last_layer(spec)
    target = _meta_target(spec)
    loss_fn = build_loss(spec.loss).to("meta")
    prefix = (
        f"{last} gives per-sample output {tuple(out.shape[1:])}, which {spec.loss.type} cannot "
        f"use with this data set's {spec.dataset.target_kind.value} targets of per-sample shape "
        f"{tuple(target.shape[1:])}"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loss_fn(out, target)
        except (RuntimeError, ValueError, IndexError, AssertionError) as exc:
            if not any(limit in str(exc) for limit in _META_LIMITS):
                return [Problem(loc, f"{prefix}: {exc}")]
    mismatches = [str(w.message) for w in caught if "target size" in str(w.message)]
    return [Problem(loc, f"{prefix}: {mismatches[0]}")] if mismatches else []


def _problems(spec: TrainingSpec, out: torch.Tensor) -> list[Problem]:
    problems = _class_count_problems(spec, tuple(out.shape[1:]))
    if not any(problem.blocking for problem in problems):
        problems += _loss_problems(spec, out)
    loc, _ = _last_layer(spec)
    warnings_ = last_layer_warnings(spec.loss, spec.model.layers[-1].type)
    return problems + [Problem(loc, message, blocking=False) for message in warnings_]


def compute_findings(spec: TrainingSpec) -> Findings:
    """The findings, uncached: the network is built on the meta device once, for both."""
    try:
        probe = probe_meta_network(spec.model, spec.dataset.sample_shape())
    except LayerShapeError as exc:
        return Findings(None, (Problem(("model", "layers", exc.index), str(exc)),))
    n_parameters = sum(parameter.numel() for parameter in probe.network.parameters())
    return Findings(n_parameters, tuple(_problems(spec, probe.output)))


def findings(spec: TrainingSpec) -> Findings:
    """The spec's parameter count and problems, computed once per distinct architecture."""
    return FINDINGS.get(check_key(spec), lambda: compute_findings(spec))


def static_problems(spec: TrainingSpec) -> list[Problem]:
    """What is wrong with a valid spec's shapes, and the warnings a user should see."""
    return list(findings(spec).problems)
