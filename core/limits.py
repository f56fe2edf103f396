"""Caps on what one job may ask for: epochs, batch size, parameters and data set samples."""

from dataclasses import dataclass

from core.settings import Settings
from training.spec import TrainingSpec

# the field a user changes to make a data set smaller, by the name each kind of set gives it
SIZE_FIELDS = ("n_samples", "n", "max_samples")


@dataclass(frozen=True)
class LimitExceeded:
    """A value over a GRADQ_ setting: where it is in the spec, and the message naming both."""

    loc: tuple[str | int, ...]
    setting: str
    limit: int
    message: str


def _check(
    loc: tuple[str | int, ...], value: int | None, what: str, setting: str, settings: Settings
) -> list[LimitExceeded]:
    limit = int(getattr(settings, setting))
    if value is None or value <= limit:
        return []
    message = f"{what.format(value)}, over this server's limit GRADQ_{setting} = {limit:,}"
    return [LimitExceeded(loc, f"GRADQ_{setting}", limit, message)]


def _size_loc(spec: TrainingSpec) -> tuple[str | int, ...]:
    fields = type(spec.dataset).model_fields
    return ("dataset", next((name for name in SIZE_FIELDS if name in fields), "type"))


def _batch(spec: TrainingSpec) -> tuple[int | None, str]:
    """The samples in one step: the batch size, or the whole training split for full-batch."""
    if spec.training.batch_size is not None:
        return spec.training.batch_size, "batch_size is {:,}"
    sizes = spec.dataset.split_sizes()
    return (sizes[0] if sizes else None), "batch_size null trains on all {:,} samples at once"


def spec_limits(
    spec: TrainingSpec, *, n_parameters: int | None, settings: Settings
) -> list[LimitExceeded]:
    """Every cap the spec exceeds; n_parameters is None when the network could not be built."""
    batch, batch_what = _batch(spec)
    return [
        *_check(
            ("training", "epochs"), spec.training.epochs, "epochs is {:,}", "MAX_EPOCHS", settings
        ),
        *_check(("training", "batch_size"), batch, batch_what, "MAX_BATCH_SIZE", settings),
        *_check(
            ("model",), n_parameters, "the network has {:,} parameters", "MAX_PARAMETERS", settings
        ),
        *_check(
            _size_loc(spec),
            spec.dataset.size(),
            "the data set has {:,} samples",
            "MAX_DATASET_SAMPLES",
            settings,
        ),
    ]
