"""Base class of every spec: strict, immutable, unknown fields refused."""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def field_error(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A validation error at loc, for checks that look at several fields but blame one.

    Raised inside a validator, pydantic prefixes loc with the validated model's own location.
    """
    error = PydanticCustomError("spec_mismatch", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "TrainingSpec", [InitErrorDetails(type=error, loc=loc, input=value)]
    )
