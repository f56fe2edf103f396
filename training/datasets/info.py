"""What the server measured in an uploaded file: the facts a job spec on it needs."""

from typing import Literal

from pydantic import Field

from training.spec.base import SpecModel

LabelType = Literal["integer", "real", "text"]


class UploadInfo(SpecModel):
    """What the server measured in an uploaded file."""

    format: Literal["csv", "npz", "parquet"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    target_column: str | None = None
    n_samples: int = Field(ge=1)
    sample_shape: tuple[int, ...]
    label_shape: tuple[int, ...] = Field(description="one sample's target as stored in the file")
    label_type: LabelType
    num_labels: int | None = Field(
        description="distinct text labels, or the largest integer label + 1; null for others"
    )
    label_min: float | None = None
    label_max: float | None = None
