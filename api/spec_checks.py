"""Checks of a parsed spec that go beyond its schema, as 422s in the validation-error format."""

from api.schemas.jobs import JobValidation
from core.errors import SpecRejected
from core.limits import LimitExceeded, spec_limits
from core.settings import get_settings
from training.build.data_report import data_report
from training.checks import Problem, findings
from training.dry_run import dry_run
from training.spec import TrainingSpec
from training.spec.batching import steps_per_epoch
from training.torch_options import unsupported_options


def _error(problem: Problem) -> dict[str, object]:
    loc = ["body", "spec", *problem.loc]
    field = ".".join(str(part) for part in ["spec", *problem.loc])
    return {"loc": loc, "msg": problem.message, "type": "spec_mismatch", "field": field}


def _limit_error(limit: LimitExceeded) -> dict[str, object]:
    error = _error(Problem(limit.loc, limit.message))
    return error | {
        "type": "limit_exceeded",
        "ctx": {"setting": limit.setting, "limit": str(limit.limit)},
    }


def parameter_count(spec: TrainingSpec) -> int | None:
    """The network's parameters, counted on the meta device; None if its shapes do not fit."""
    return findings(spec).n_parameters  # None: static_problems names the layer


def check_limits(spec: TrainingSpec, n_parameters: int | None) -> None:
    """SpecRejected naming each GRADQ_ cap the spec exceeds."""
    # the settings are read on every call: only the parameter count is kept between calls
    exceeded = spec_limits(spec, n_parameters=n_parameters, settings=get_settings())
    if exceeded:
        raise SpecRejected([_limit_error(limit) for limit in exceeded])


def check_spec(spec: TrainingSpec) -> list[str]:
    """Raise SpecRejected for an option this torch lacks, a cap exceeded or a blocking problem;
    return the warnings."""
    unsupported = [_error(Problem(loc, message)) for loc, message in unsupported_options(spec)]
    if unsupported:
        raise SpecRejected(unsupported)
    found = findings(spec)
    check_limits(spec, found.n_parameters)
    blocking = [_error(problem) for problem in found.problems if problem.blocking]
    if blocking:
        raise SpecRejected(blocking)
    return [f"spec.{'.'.join(map(str, p.loc))}: {p.message}" for p in found.problems]


def validate(spec: TrainingSpec) -> JobValidation:
    """Everything submission checks, plus a dry run on a few samples on the CPU."""
    warnings = check_spec(spec)
    try:
        result = dry_run(spec)
        report = data_report(spec.dataset, spec.dataset.data_dir)
    except Exception as exc:  # a spec that passed every check but still cannot take a step
        message = f"the dry run failed: {type(exc).__name__}: {exc}"
        raise SpecRejected([_error(Problem(("model",), message))]) from exc
    n_steps = steps_per_epoch(
        spec.n_train_samples(), spec.training.batch_size, spec.training.drop_last
    )
    return JobValidation(
        valid=True,
        warnings=warnings,
        dataset=report,
        steps_per_epoch=n_steps,
        dry_run=result,
        spec=spec,
    )
