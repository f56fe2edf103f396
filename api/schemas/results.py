"""HTTP models of a job's results: predictions and the network summary."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from training.summary import NetworkSummary

Which = Literal["final", "best"]


class PredictionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[Any] = Field(
        description="samples as JSON arrays, each of the network's input shape "
        "(GRADQ_MAX_PREDICT_ROWS at most)"
    )
    which: Which = Field(default="final", description="the final weights or the best epoch's")


class SummaryRead(NetworkSummary):
    table: str = Field(description="the summary as torchsummary prints it")
