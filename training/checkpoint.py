"""Checkpoints: everything a run needs to continue exactly where it stopped, on disk atomically.

A checkpoint holds the network, optimizer and scheduler states, the best-epoch tracker, the
loop's position (epoch, global step) and every random generator the run draws from. It is
written with torch.save and read back with torch.load(weights_only=True): tensors, numbers,
strings, lists and dicts only, so reading one never runs code.
"""

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from training.early_stopping import BestTracker
from training.run import TrainingRun

FORMAT_VERSION = 1

# the tracker's fields that change while training; the rest come from the spec
_TRACKER_STATE = ("best_epoch", "best_value", "best_metrics", "best_state", "_bad_epochs")


@dataclass(frozen=True)
class LoopPosition:
    """Where a resumed loop starts: after `epoch`, with `step` batches done so far."""

    epoch: int
    step: int
    metrics: dict[str, float]


def capture(run: TrainingRun, tracker: BestTracker, position: LoopPosition) -> dict[str, Any]:
    """The run's whole state at an epoch boundary, as a weights_only-loadable dict."""
    state: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "epoch": position.epoch,
        "step": position.step,
        "metrics": dict(position.metrics),
        "network": run.network.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "tracker": {name: getattr(tracker, name) for name in _TRACKER_STATE},
        "rng": {
            "torch": torch.get_rng_state(),
            "batches": run.generator.get_state(),
            "augmentation": (
                run.augmentation_generator.get_state()
                if run.augmentation_generator is not None
                else None
            ),
            "cuda": torch.cuda.get_rng_state_all() if run.device.type == "cuda" else None,
        },
    }
    return state


def restore(run: TrainingRun, tracker: BestTracker, state: dict[str, Any]) -> LoopPosition:
    """Load a captured state into a freshly built run and tracker; the loop's position."""
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown checkpoint format {state.get('format')!r}")
    run.network.load_state_dict(state["network"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state["scheduler"] is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    known = {f.name for f in fields(tracker)}
    for name, value in state["tracker"].items():
        if name in known:
            setattr(tracker, name, value)
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    run.generator.set_state(rng["batches"])
    if run.augmentation_generator is not None and rng["augmentation"] is not None:
        run.augmentation_generator.set_state(rng["augmentation"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return LoopPosition(epoch=state["epoch"], step=state["step"], metrics=state["metrics"])


def write(path: Path, state: dict[str, Any]) -> None:
    """Write to a temporary file beside path, fsync it, then rename: never a torn checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            torch.save(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read(path: Path, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint at path, or None when there is none."""
    if not path.is_file():
        return None
    state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    # generator states live on the CPU whatever device the run trains on
    rng = state["rng"]
    for key in ("torch", "batches", "augmentation"):
        if rng.get(key) is not None:
            rng[key] = rng[key].cpu()
    if rng.get("cuda") is not None:
        rng["cuda"] = [value.cpu() for value in rng["cuda"]]
    return state
