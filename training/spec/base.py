"""Base class of every spec: strict, immutable, unknown fields refused."""

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
