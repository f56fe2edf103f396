"""TrainingSpec: the whole job as data, validated before anything is queued."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel, errors_at, field_error
from training.spec.batching import steps_per_epoch
from training.spec.data import DatasetSpec
from training.spec.early_stopping import EarlyStoppingSpec
from training.spec.losses import LossSpec, loss_dataset_problem, loss_target_problem
from training.spec.model import ModelSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.regularization import RegularizationSpec
from training.spec.schedulers import ReduceLROnPlateauSpec, SchedulerSpec, check_schedule
from training.spec.targets import TARGET_METRICS

MAX_EPOCHS = 1_000_000
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")]


class TrainingOptions(SpecModel):
    epochs: int = Field(ge=1, le=MAX_EPOCHS)
    batch_size: int | None = Field(default=None, ge=1, description="null trains full-batch")
    shuffle: bool = True
    drop_last: bool = False
    seed: int = Field(default=0, ge=0, lt=2**63)
    device: Device = "auto"
    early_stopping: EarlyStoppingSpec | None = None
    checkpoint_every: int = Field(
        default=1,
        ge=0,
        description=(
            "checkpoint every n epochs (at most once per GRADQ_CHECKPOINT_MIN_SECONDS), so a "
            "requeued job resumes there; 0: only when the job is paused"
        ),
    )


class TrainingSpec(SpecModel):
    """Everything a worker needs to train one network."""

    version: Literal[1] = 1
    dataset: DatasetSpec
    model: ModelSpec
    loss: LossSpec
    optimizer: OptimizerSpec
    scheduler: SchedulerSpec | None = None
    regularization: RegularizationSpec = RegularizationSpec()
    training: TrainingOptions

    @model_validator(mode="after")
    def _loss_fits_dataset(self) -> Self:
        problem = loss_target_problem(self.loss, self.dataset.target_kind, self.dataset.type)
        # a file-backed set learns its classes on the server; it is validated again then
        if self.dataset.resolved():
            problem = problem or loss_dataset_problem(self.loss, self.dataset)
        if problem:
            raise field_error(("loss",), problem, self.loss.type)
        return self

    @model_validator(mode="after")
    def _param_groups_name_layers(self) -> Self:
        unknown = self.optimizer.referenced_layers() - set(self.model.layer_names())
        if unknown:
            known = ", ".join(self.model.layer_names())
            message = (
                f"parameter groups name layers that do not exist: "
                f"{', '.join(sorted(unknown))}; the layers are: {known}"
            )
            raise field_error(("optimizer", "param_groups"), message, sorted(unknown))
        return self

    def n_train_samples(self) -> int:
        """Samples the network trains on in one epoch: the training split (0 while unknown)."""
        sizes = self.dataset.split_sizes()
        return max(sizes[0], 0) if sizes else 0

    def recorded_metrics(self) -> set[str]:
        """The per-epoch metric keys early stopping and plateau schedules can monitor."""
        names = {"loss", *TARGET_METRICS[self.dataset.target_kind]}
        recorded = {f"train_{name}" for name in names}
        split = self.dataset.split
        if split is not None and (split.val or split.folds):
            recorded |= {f"val_{name}" for name in names}
        if self.regularization.l1 or self.regularization.l2:
            recorded.add("train_penalty")
        return recorded

    @model_validator(mode="after")
    def _schedule_fits_run(self) -> Self:
        if self.scheduler is None:
            return self
        n_steps = steps_per_epoch(
            self.n_train_samples(), self.training.batch_size, self.training.drop_last
        )
        problem = check_schedule(
            self.scheduler,
            epochs=self.training.epochs,
            steps_per_epoch=n_steps,
            optimizer=self.optimizer,
        )
        if problem:
            raise field_error(("scheduler",), problem, self.scheduler.type)
        return self

    @model_validator(mode="after")
    def _monitored_metrics_exist(self) -> Self:
        recorded = self.recorded_metrics()
        monitors: list[tuple[tuple[str | int, ...], str | None]] = []
        if self.training.early_stopping is not None:
            monitors.append(
                (("training", "early_stopping", "monitor"), self.training.early_stopping.monitor)
            )
        if isinstance(self.scheduler, ReduceLROnPlateauSpec):
            monitors.append((("scheduler", "monitor"), self.scheduler.monitor))
        problems = [
            (
                loc,
                f"{name!r} is not recorded by this job; it records {', '.join(sorted(recorded))}",
                name,
            )
            for loc, name in monitors
            if name is not None and name not in recorded
        ]
        if problems:
            raise errors_at("unknown_metric", problems)
        return self


__all__ = ["ModelSpec", "TrainingOptions", "TrainingSpec"]
