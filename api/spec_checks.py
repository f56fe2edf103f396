"""Checks of a parsed spec that go beyond its schema, as 422s in the validation-error format."""

from api.schemas.jobs import DatasetInfo, JobValidation
from core.errors import SpecRejected
from training.checks import Problem, static_problems
from training.dry_run import dataset_size, dry_run
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


def _dataset_info(spec: TrainingSpec) -> DatasetInfo:
    return DatasetInfo(
        type=spec.dataset.type,
        n_samples=dataset_size(spec),
        sample_shape=spec.dataset.sample_shape(),
        target_shape=spec.dataset.target_shape(),
        target_kind=spec.dataset.target_kind.value,
        num_classes=spec.dataset.num_classes(),
    )


def validate(spec: TrainingSpec) -> JobValidation:
    """Everything submission checks, plus a dry run on a few samples on the CPU."""
    warnings = check_spec(spec)
    try:
        result = dry_run(spec)
    except Exception as exc:  # a spec that passed every check but still cannot take a step
        message = f"the dry run failed: {type(exc).__name__}: {exc}"
        raise SpecRejected([_error(Problem(("model",), message))]) from exc
    n_steps = steps_per_epoch(dataset_size(spec), spec.training.batch_size, spec.training.drop_last)
    return JobValidation(
        valid=True,
        warnings=warnings,
        dataset=_dataset_info(spec),
        steps_per_epoch=n_steps,
        dry_run=result,
        spec=spec,
    )
