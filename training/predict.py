"""A trained network's card (how to rebuild it), its safetensors weights, and predictions."""

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from training.build.data import TensorData
from training.build.fitted import FittedPreprocessing
from training.build.networks import build_meta_network, network_output_shape
from training.build.preprocessing import preprocessing_transform
from training.spec import TrainingSpec
from training.spec.layers import EmbeddingSpec
from training.spec.model import ModelSpec
from training.spec.targets import TargetKind

CARD_METADATA_KEY = "gradq.network"
MAX_PREDICT_VALUES = 1_000_000
CLASS_KINDS = frozenset(
    {TargetKind.CLASS_INDEX, TargetKind.PROBABILITIES, TargetKind.LOG_PROBABILITIES}
)
LABEL_KINDS = frozenset({TargetKind.BINARY, TargetKind.MULTI_LABEL})

Reading = Literal["softmax", "sigmoid", "as_is"]


class PredictInputError(ValueError):
    """Inputs that do not fit the network: the message says what they should be."""


class WeightsInfo(BaseModel):
    epoch: int = Field(description="the epoch these weights are from")
    sha256: str
    bytes: int


class NetworkCard(BaseModel):
    """Everything needed to rebuild a job's network and to read its outputs.

    Rebuild: the layers of `model` in order, as training.build.networks.build_network does, on
    inputs of `input_shape`; then load the safetensors weights with load_state_dict. Raw samples
    (of preprocessing.raw_shape) go through the preprocessing steps, fitted on the training
    split, before the network; predictions do that for their inputs.
    """

    format: Literal["gradq.network/1"] = "gradq.network/1"
    model: ModelSpec
    input_shape: tuple[int, ...]
    input_dtype: Literal["float32", "int64"]
    output_shape: tuple[int, ...]
    target_kind: TargetKind
    num_classes: int | None
    loss: str
    probabilities: Reading | None = Field(
        description="how outputs become class probabilities: softmax over dimension 1, an "
        "elementwise sigmoid, as they are, or null where outputs are no probabilities"
    )
    preprocessing: FittedPreprocessing | None = Field(
        default=None,
        description="the steps, with the statistics fitted on the training split, that turn raw "
        "samples into the network's inputs; null where the network takes raw samples",
    )
    weights: dict[str, WeightsInfo] = Field(default={}, description="final and best")


class Prediction(BaseModel):
    outputs: list[Any]
    probabilities: list[Any] | None = None
    predictions: list[Any] | None = Field(
        default=None, description="class index per sample, or 0/1 per label"
    )


def _reading(model: ModelSpec, kind: TargetKind) -> Reading | None:
    last = model.layers[-1].type
    if kind in CLASS_KINDS:
        return "as_is" if last == "Softmax" else "softmax"
    if kind in LABEL_KINDS:
        return "as_is" if last == "Sigmoid" else "sigmoid"
    return None


def network_card(spec: TrainingSpec, data: TensorData) -> NetworkCard:
    """The card of a run of spec on data (weights are added once saved)."""
    shape = data.sample_shape
    embedding = isinstance(spec.model.layers[0], EmbeddingSpec)
    return NetworkCard(
        model=spec.model,
        input_shape=shape,
        input_dtype="int64" if embedding else "float32",
        output_shape=network_output_shape(spec.model, shape),
        target_kind=data.target_kind,
        num_classes=data.num_classes,
        loss=spec.loss.type,
        probabilities=_reading(spec.model, data.target_kind),
        preprocessing=data.preprocessing,
    )


def weights_bytes(state: Mapping[str, torch.Tensor], card: NetworkCard, which: str) -> bytes:
    """The state as safetensors, with the card in the header's metadata."""
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in state.items()}
    metadata = {CARD_METADATA_KEY: card.model_dump_json(exclude={"weights"}), "which": which}
    return bytes(save_tensors(tensors, metadata=metadata))


def load_network(card: NetworkCard, weights: bytes) -> nn.Module:
    """The network in eval mode on the CPU, its weights those of the safetensors bytes."""
    network = build_meta_network(card.model, card.input_shape)
    network.load_state_dict(load_tensors(weights), strict=True, assign=True)
    if any(t.is_meta for t in [*network.parameters(), *network.buffers()]):
        raise ValueError("the weights leave part of the network without values")
    return network.eval()


def card_from_weights(weights: bytes) -> NetworkCard:
    """The card stored in a safetensors header by weights_bytes."""
    header_size = int.from_bytes(weights[:8], "little")
    header = json.loads(weights[8 : 8 + header_size])
    return NetworkCard.model_validate_json(header["__metadata__"][CARD_METADATA_KEY])


def raw_shape(card: NetworkCard) -> tuple[int, ...]:
    """One raw sample's shape: the network's input shape before any preprocessing."""
    return card.preprocessing.raw_shape if card.preprocessing else card.input_shape


def as_inputs(card: NetworkCard, inputs: Any, max_rows: int) -> torch.Tensor:
    """The network's inputs from JSON arrays of raw samples, preprocessed as in training.

    PredictInputError says what does not fit.
    """
    batch = _raw_batch(card, inputs, max_rows)
    if card.preprocessing is None or not card.preprocessing.steps:
        return batch
    return preprocessing_transform(card.preprocessing)(batch)


def _raw_batch(card: NetworkCard, inputs: Any, max_rows: int) -> torch.Tensor:
    expected = list(raw_shape(card))
    if not isinstance(inputs, list) or not inputs:
        raise PredictInputError(f"give a non-empty list of samples, each of shape {expected}")
    if len(inputs) > max_rows:
        raise PredictInputError(f"at most {max_rows} samples at once; got {len(inputs)}")
    if len(inputs) * math.prod(expected) > MAX_PREDICT_VALUES:
        raise PredictInputError(f"at most {MAX_PREDICT_VALUES:,} numbers at once")
    try:
        batch = torch.tensor(inputs)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise PredictInputError(
            f"samples must be equal-shaped arrays of numbers: {error}"
        ) from None
    if list(batch.shape[1:]) != expected:
        got = list(batch.shape[1:])
        raise PredictInputError(f"each sample must have shape {expected}; got {got}")
    if card.input_dtype == "int64":
        if batch.is_floating_point() or batch.dtype == torch.bool:
            raise PredictInputError("this network starts with an Embedding: give integer indices")
        return batch.to(torch.int64)
    batch = batch.to(torch.float32)
    if not torch.isfinite(batch).all():
        raise PredictInputError("samples must be finite numbers")
    return batch


def _json_values(tensor: torch.Tensor) -> list[Any]:
    """Nested lists; NaN and infinities (which JSON cannot carry) become null."""
    values = tensor.double()
    if torch.isfinite(values).all():
        result: list[Any] = values.tolist()
        return result
    nulled: list[Any] = _nulled(values.tolist())
    return nulled


def _nulled(value: Any) -> Any:
    if isinstance(value, list):
        return [_nulled(item) for item in value]
    return value if math.isfinite(value) else None


def probabilities(card: NetworkCard, outputs: torch.Tensor) -> torch.Tensor | None:
    if card.probabilities == "softmax":
        return outputs.softmax(dim=1)
    if card.probabilities == "sigmoid":
        return outputs.sigmoid()
    return outputs if card.probabilities == "as_is" else None


def labels(card: NetworkCard, probs: torch.Tensor) -> torch.Tensor:
    """Class index per sample (class targets) or 0/1 per label (binary, multi-label)."""
    if card.target_kind in CLASS_KINDS:
        return probs.argmax(dim=1)
    return (probs > 0.5).to(torch.int64)


@torch.inference_mode()
def predict(network: nn.Module, card: NetworkCard, batch: torch.Tensor) -> Prediction:
    try:
        outputs = network(batch)
    except (RuntimeError, IndexError, ValueError) as error:
        raise PredictInputError(f"the network cannot take these inputs: {error}") from None
    probs = probabilities(card, outputs)
    if probs is None:
        return Prediction(outputs=_json_values(outputs))
    return Prediction(
        outputs=_json_values(outputs),
        probabilities=_json_values(probs),
        predictions=labels(card, probs).tolist(),
    )
