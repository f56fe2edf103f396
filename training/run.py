"""build_run: one TrainingSpec -> every torch object one training run needs."""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from training.build.data import TensorData, build_splits
from training.build.losses import build_loss
from training.build.networks import build_network
from training.build.optimizers import build_optimizer
from training.build.preprocessing import add_augmentation
from training.build.schedulers import Scheduler, build_scheduler
from training.spec import TrainingSpec
from training.spec.batching import steps_per_epoch
from training.spec.early_stopping import EarlyStoppingSpec
from training.spec.regularization import RegularizationSpec
from training.spec.schedulers import Interval


@dataclass
class TrainingRun:
    network: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Scheduler | None
    interval: Interval
    train: TensorData
    val: TensorData | None
    test: TensorData | None
    batch_size: int | None
    shuffle: bool
    drop_last: bool
    epochs: int
    generator: torch.Generator
    device: torch.device
    regularization: RegularizationSpec
    early_stopping: EarlyStoppingSpec | None
    plateau_monitor: str | None
    augmentation_generator: torch.Generator | None = None

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.train), self.batch_size, self.drop_last)


def build_run(
    spec: TrainingSpec, device: torch.device, data_dir: Path | None = None
) -> TrainingRun:
    """Assemble a run, in the order the reproducibility protocol fixes.

    The data set comes from its own random_state (files from data_dir), the split from the split's
    seed; then torch.manual_seed(seed), the network (on the CPU, so CPU and CUDA start from the
    same weights), the loss, optimizer and scheduler. The batch order comes from a separate
    generator seeded with the same seed, augmentation from one seeded with seed + 1.
    """
    splits = build_splits(spec.dataset, data_dir)
    torch.manual_seed(spec.training.seed)
    network = build_network(spec.model, splits.train.sample_shape).to(device)
    augmentation_generator = add_augmentation(
        network, spec.dataset.augmentation, seed=spec.training.seed, device=device
    )
    loss_fn = build_loss(spec.loss).to(device)
    optimizer = build_optimizer(spec.optimizer, network)
    n_steps = steps_per_epoch(len(splits.train), spec.training.batch_size, spec.training.drop_last)
    scheduler = (
        build_scheduler(
            spec.scheduler, optimizer, epochs=spec.training.epochs, steps_per_epoch=n_steps
        )
        if spec.scheduler
        else None
    )
    return TrainingRun(
        network=network,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        interval=spec.scheduler.interval if spec.scheduler else "epoch",
        train=splits.train.to(device),
        val=splits.val.to(device) if splits.val is not None else None,
        test=splits.test.to(device) if splits.test is not None else None,
        batch_size=spec.training.batch_size,
        shuffle=spec.training.shuffle,
        drop_last=spec.training.drop_last,
        epochs=spec.training.epochs,
        generator=torch.Generator().manual_seed(spec.training.seed),
        device=device,
        regularization=spec.regularization,
        early_stopping=spec.training.early_stopping,
        plateau_monitor=getattr(spec.scheduler, "monitor", None),
        augmentation_generator=augmentation_generator,
    )
