"""Base class of every spec: strict, immutable, unknown fields refused."""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Loc = tuple[str | int, ...]


def errors_at(kind: str, problems: Sequence[tuple[Loc, str, Any]]) -> ValidationError:
    """A validation error whose entries sit at the fields the user wrote, not at the model.

    Raised inside a validator, pydantic prefixes each loc with the validated model's location.
    """
    details = [
        InitErrorDetails(
            type=PydanticCustomError(kind, "{reason}", {"reason": reason}), loc=loc, input=value
        )
        for loc, reason, value in problems
    ]
    return ValidationError.from_exception_data("TrainingSpec", details)


def field_error(loc: Loc, message: str, value: Any) -> ValidationError:
    """One validation error at loc, for a check that looks at several fields but blames one."""
    return errors_at("spec_mismatch", [(loc, message, value)])
