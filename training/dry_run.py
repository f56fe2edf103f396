"""The validate endpoint's dry run: one real step on a tiny batch on the CPU, plus estimates."""

import math
import time

import torch
from pydantic import BaseModel, Field

from training.build.data import build_dataset
from training.build.losses import build_loss
from training.build.networks import build_network
from training.build.optimizers import build_optimizer
from training.loop import scalar_loss
from training.spec import TrainingSpec
from training.summary import NetworkSummary, summarize

DRY_RUN_SAMPLES = 16
BYTES_PER_VALUE = 4


class MemoryEstimate(BaseModel):
    """Bytes a run needs on its device, in the largest batch it trains on."""

    parameters: int
    gradients: int
    optimizer_state: int = Field(description="measured after one optimizer step")
    activations: int = Field(description="layer outputs and their gradients for one batch")
    data: int = Field(description="the data set, moved to the device once")
    total: int


class DryRun(BaseModel):
    summary: NetworkSummary
    output_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    loss: float
    seconds: float
    memory: MemoryEstimate


def dataset_size(spec: TrainingSpec) -> int:
    return int(getattr(spec.dataset, "n_samples", 0))


def _tensor_bytes(tensors: list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _memory(spec: TrainingSpec, summary: NetworkSummary, optimizer_bytes: int) -> MemoryEstimate:
    params = summary.total_params * BYTES_PER_VALUE
    n = dataset_size(spec)
    batch = min(spec.training.batch_size or n, n)
    activations = 2 * summary.activation_bytes * batch
    per_sample = math.prod(spec.dataset.sample_shape()) + math.prod(spec.dataset.target_shape())
    data = n * per_sample * BYTES_PER_VALUE
    total = params * 2 + optimizer_bytes + activations + data
    return MemoryEstimate(
        parameters=params,
        gradients=params,
        optimizer_state=optimizer_bytes,
        activations=activations,
        data=data,
        total=total,
    )


def dry_run(spec: TrainingSpec) -> DryRun:
    """Build the job's network on the CPU and take one optimizer step on a few samples."""
    started = time.perf_counter()
    small = spec.dataset.model_copy(update={"n_samples": min(dataset_size(spec), DRY_RUN_SAMPLES)})
    data = build_dataset(small, limit=DRY_RUN_SAMPLES)
    torch.manual_seed(spec.training.seed)
    network = build_network(spec.model, data.sample_shape)
    optimizer = build_optimizer(spec.optimizer, network)
    loss_fn = build_loss(spec.loss)
    outputs: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        outputs.append(network(data.x))
        loss = scalar_loss(loss_fn(outputs[-1], data.y))
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    loss = optimizer.step(closure)  # type: ignore[arg-type]
    assert isinstance(loss, torch.Tensor)
    out = outputs[0]
    state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    summary = summarize(network, data.sample_shape)
    return DryRun(
        summary=summary,
        output_shape=tuple(out.shape[1:]),
        target_shape=tuple(data.y.shape[1:]),
        loss=float(loss.item()),
        seconds=time.perf_counter() - started,
        memory=_memory(spec, summary, _tensor_bytes(state)),
    )
