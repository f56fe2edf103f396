"""Checks of a parsed spec that go beyond its schema, as 422s in the validation-error format."""

from api.schemas.jobs import JobValidation
from core.errors import SpecRejected
from training.build.data_report import data_report
from training.checks import Problem, static_problems
from training.dry_run import dry_run
from training.spec import TrainingSpec
from training.spec.batching import steps_per_epoch


def _error(problem: Problem) -> dict[str, object]:
    loc = ["body", "spec", *problem.loc]
    field = ".".join(str(part) for part in ["spec", *problem.loc])
    return {"loc": loc, "msg": problem.message, "type": "spec_mismatch", "field": field}


def check_spec(spec: TrainingSpec) -> list[str]:
    """Raise SpecRejected for blocking problems; return the warnings."""
    problems = static_problems(spec)
    blocking = [_error(problem) for problem in problems if problem.blocking]
    if blocking:
        raise SpecRejected(blocking)
    return [f"spec.{'.'.join(map(str, p.loc))}: {p.message}" for p in problems]


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
