"""The hand-written PyTorch loops gradq is measured against."""

import time
from collections.abc import Iterator

import torch

from bench.workloads import PlainSetup
from training.evaluation import target_metrics


def _batches(
    setup: PlainSetup, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if setup.batch_size is None:
        yield setup.x, setup.y
        return
    order = torch.randperm(len(setup.x), generator=generator).to(setup.x.device)
    for index in torch.split(order, setup.batch_size):
        yield setup.x[index], setup.y[index]


def plain_fit(setup: PlainSetup) -> list[float]:
    """Train as a user's script does: shuffle by index, step, one loss.item() per epoch.

    Returns the mean training loss of every epoch.
    """
    network, loss_fn, optimizer = setup.network, setup.loss_fn, setup.optimizer
    generator = torch.Generator().manual_seed(setup.seed)
    losses = []
    network.train()
    for _ in range(setup.epochs):
        total = torch.zeros((), dtype=torch.float64, device=setup.x.device)
        for xb, yb in _batches(setup, generator):
            optimizer.zero_grad()
            loss = loss_fn(network(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(xb)
        if setup.scheduler is not None:
            setup.scheduler.step()
        losses.append(total.item() / len(setup.x))
    return losses


def recording_fit(setup: PlainSetup) -> list[dict[str, float]]:
    """plain_fit that also records what gradq records: train accuracy (or R^2 and MAE), the lr
    of every parameter group, iterations, seconds and samples per second, in a list."""
    network, loss_fn, optimizer = setup.network, setup.loss_fn, setup.optimizer
    generator = torch.Generator().manual_seed(setup.seed)
    epochs: list[dict[str, float]] = []
    network.train()
    for _ in range(setup.epochs):
        started = time.perf_counter()
        total = torch.zeros((), dtype=torch.float64, device=setup.x.device)
        outputs, targets = [], []
        for xb, yb in _batches(setup, generator):
            optimizer.zero_grad()
            out = network(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(xb)
            outputs.append(out.detach())
            targets.append(yb)
        if setup.scheduler is not None:
            setup.scheduler.step()
        metrics = {"train_loss": total.item() / len(setup.x)}
        metrics |= target_metrics(
            "train", torch.cat(outputs), torch.cat(targets), setup.target_kind
        )
        metrics |= {f"lr/{i}": float(g["lr"]) for i, g in enumerate(optimizer.param_groups)}
        seconds = time.perf_counter() - started
        metrics |= {
            "iterations": float(len(outputs)),
            "seconds": seconds,
            "samples_per_second": len(setup.x) / seconds,
        }
        epochs.append(metrics)
    return epochs
