"""Batching throughput: gradq's index batching against a DataLoader(TensorDataset) loop.

Both train the MLP workload (784-256-256-10, batch 256) on the same tensors on the same device,
interleaved, and report training samples per second:

    .venv/bin/python -m bench.batching [--epochs 2] [--repeats 3] [--device cpu]
"""

import argparse
import copy
import time
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from bench.stats import median, ratio
from bench.workloads import WORKLOADS
from training.device import resolve_device
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gradq_rate(spec: dict[str, Any], device: torch.device) -> float:
    """Samples per second of fit(): tensors on the device once, batches cut by index."""
    run = build_run(TrainingSpec.model_validate(spec), device)
    _sync(device)
    started = time.perf_counter()
    fit(run, ListSink())
    _sync(device)
    return run.epochs * len(run.train) / (time.perf_counter() - started)


def dataloader_rate(spec: dict[str, Any], device: torch.device) -> float:
    """Samples per second of the usual loop: DataLoader(TensorDataset) collating each batch."""
    setup = WORKLOADS["mlp"].plain(spec)
    network, loss_fn = setup.network.to(device), setup.loss_fn
    optimizer = torch.optim.SGD(network.parameters(), lr=0.5)
    dataset = TensorDataset(setup.x.to(device), setup.y.to(device))
    generator = torch.Generator().manual_seed(setup.seed)
    loader = DataLoader(dataset, batch_size=setup.batch_size, shuffle=True, generator=generator)
    _sync(device)
    started = time.perf_counter()
    for _ in range(setup.epochs):
        total = torch.zeros((), dtype=torch.float64, device=device)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(network(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(xb)
        total.item()
    _sync(device)
    return setup.epochs * len(setup.x) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    spec = copy.deepcopy(WORKLOADS["mlp"].spec)
    spec["training"]["epochs"] = args.epochs
    spec["training"]["device"] = device.type
    rates: dict[str, list[float]] = {"gradq": [], "dataloader": []}
    for _ in range(args.repeats):
        rates["gradq"].append(gradq_rate(spec, device))
        rates["dataloader"].append(dataloader_rate(spec, device))
    gradq, loader = median(rates["gradq"]), median(rates["dataloader"])
    print(f"device {device}, {args.epochs} epochs of {spec['dataset']['n_samples']:,} samples")  # noqa: T201
    print(f"gradq index batching       {gradq:12,.0f} samples/s")  # noqa: T201
    print(f"DataLoader(TensorDataset)  {loader:12,.0f} samples/s")  # noqa: T201
    print(f"gradq / DataLoader         {ratio(gradq, loader) or 0:12.2f}x")  # noqa: T201


if __name__ == "__main__":
    main()
