"""ProgressBar: a job's epochs, latest loss and lr as a rich progress bar on stderr."""

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from gradq_client.job import Job


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def latest_values(epoch: dict[str, Any]) -> tuple[str, str]:
    """The train loss and first group's lr of an epoch as short strings for a progress line."""
    lr = epoch.get("lr") or [None]
    return _number(epoch.get("train_loss")), _number(lr[0])


class ProgressBar:
    """Call it with (job, new epochs) after each poll; use it as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "epochs  loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[status]}"
            ),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, job: "Job", new_epochs: list[dict[str, Any]]) -> None:
        if self._task is None:
            description = job.name or job.id[:8]
            self._task = self._progress.add_task(
                description, total=job.epochs or None, loss="-", lr="-", status=""
            )
        completed = new_epochs[-1]["epoch"] if new_epochs else job.current_epoch
        self._progress.update(self._task, completed=completed, status=job.status.value)
        if new_epochs:
            loss, lr = latest_values(new_epochs[-1])
            self._progress.update(self._task, loss=loss, lr=lr)
