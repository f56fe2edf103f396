"""Preprocessing fitted on the training split and applied to every split; training augmentation.

Augmentation runs as a forward pre-hook on the network that acts only in training mode, as Keras'
preprocessing layers do: evaluation (network.eval()) sees the images unchanged, and batches are
still cut from tensors on the device by index.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn
from torch.nn import functional as F

from training.build.data_tensors import TensorData
from training.build.fitted import (
    FittedMinMaxScaler,
    FittedPreprocessing,
    FittedStandardScaler,
    FittedStep,
)
from training.registry import Registry
from training.spec.base import SpecModel
from training.spec.preprocessing import (
    AugmentationStep,
    CenterCropSpec,
    MinMaxScalerSpec,
    NormalizeSpec,
    PreprocessingStep,
    RandomCropSpec,
    RandomHorizontalFlipSpec,
    RandomVerticalFlipSpec,
    ResizeSpec,
    StandardScalerSpec,
)
from training.splits import Splits

Transform = Callable[[torch.Tensor], torch.Tensor]


def _reduced_dims(x: torch.Tensor, per_channel: bool) -> tuple[int, ...]:
    """Statistics over the samples (per feature), or over samples and positions (per channel)."""
    return (0, *range(2, x.dim())) if per_channel else (0,)


def _values(t: torch.Tensor) -> list[float]:
    values: list[float] = t.flatten().tolist()
    return values


def _laid_out(values: list[float], shape: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
    """Statistics laid out in shape, as a (1, *shape) tensor of x's dtype on x's device."""
    return torch.tensor(values, dtype=x.dtype, device=x.device).view(1, *shape)


def _standard_scaler(step: SpecModel, train_x: torch.Tensor) -> FittedStep:
    assert isinstance(step, StandardScalerSpec)
    dims = _reduced_dims(train_x, step.per_channel)
    mean = train_x.mean(dim=dims, keepdim=True)
    std = train_x.std(dim=dims, keepdim=True, correction=0)
    # scikit-learn's StandardScaler leaves a constant feature unscaled
    std = torch.where(std == 0, torch.ones_like(std), std)
    return FittedStandardScaler(
        shape=tuple(mean.shape[1:]),
        mean=_values(mean) if step.with_mean else None,
        std=_values(std) if step.with_std else None,
    )


def _min_max_scaler(step: SpecModel, train_x: torch.Tensor) -> FittedStep:
    assert isinstance(step, MinMaxScalerSpec)
    dims = _reduced_dims(train_x, step.per_channel)
    low, high = step.feature_range
    data_min = train_x.amin(dim=dims, keepdim=True)
    data_range = train_x.amax(dim=dims, keepdim=True) - data_min
    scale = (high - low) / torch.where(data_range == 0, torch.ones_like(data_range), data_range)
    offset = low - data_min * scale
    return FittedMinMaxScaler(
        shape=tuple(scale.shape[1:]),
        scale=_values(scale),
        offset=_values(offset),
        clip=step.feature_range if step.clip else None,
    )


def _as_given(step: SpecModel, _train_x: torch.Tensor) -> FittedStep:
    """A step that learns nothing from the training split."""
    assert isinstance(step, NormalizeSpec | ResizeSpec | CenterCropSpec)
    return step


def _standardize(step: SpecModel) -> Transform:
    assert isinstance(step, FittedStandardScaler)
    mean, std, shape = step.mean, step.std, step.shape

    def transform(x: torch.Tensor) -> torch.Tensor:
        if mean is not None:
            x = x - _laid_out(mean, shape, x)
        return x if std is None else x / _laid_out(std, shape, x)

    return transform


def _rescale(step: SpecModel) -> Transform:
    assert isinstance(step, FittedMinMaxScaler)
    clip = step.clip

    def transform(x: torch.Tensor) -> torch.Tensor:
        out = x * _laid_out(step.scale, step.shape, x) + _laid_out(step.offset, step.shape, x)
        return out if clip is None else out.clamp(*clip)

    return transform


def _channel_view(values: list[float], x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=x.dtype, device=x.device).view(1, -1, *[1] * (x.dim() - 2))


def _normalize(step: SpecModel) -> Transform:
    assert isinstance(step, NormalizeSpec)
    return lambda x: (x - _channel_view(step.mean, x)) / _channel_view(step.std, x)


def _as_images(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(N, C, H, W) for interpolate and pad, with the leading sample shape to restore."""
    lead = tuple(x.shape[1:-2])
    return x.reshape(x.shape[0], -1, *x.shape[-2:]), lead


def _resize(step: SpecModel) -> Transform:
    assert isinstance(step, ResizeSpec)
    smooth = step.interpolation in {"bilinear", "bicubic"}

    def transform(x: torch.Tensor) -> torch.Tensor:
        images, lead = _as_images(x)
        out = F.interpolate(
            images,
            size=step.size,
            mode=step.interpolation,
            align_corners=False if smooth else None,
            antialias=step.antialias and smooth,
        )
        return out.reshape(x.shape[0], *lead, *step.size)

    return transform


def _center_crop(step: SpecModel) -> Transform:
    """torchvision's center_crop: pad with 0 where the image is smaller, then cut the centre."""
    assert isinstance(step, CenterCropSpec)
    height, width = step.size

    def transform(x: torch.Tensor) -> torch.Tensor:
        images, lead = _as_images(x)
        pad_h, pad_w = max(height - images.shape[-2], 0), max(width - images.shape[-1], 0)
        if pad_h or pad_w:
            padding = (pad_w // 2, (pad_w + 1) // 2, pad_h // 2, (pad_h + 1) // 2)
            images = F.pad(images, padding)
        top = round((images.shape[-2] - height) / 2)
        left = round((images.shape[-1] - width) / 2)
        out = images[..., top : top + height, left : left + width]
        return out.reshape(x.shape[0], *lead, height, width)

    return transform


PREPROCESSING: Registry[SpecModel, Callable[[SpecModel, torch.Tensor], FittedStep]] = Registry(
    "preprocessing step",
    {
        StandardScalerSpec: _standard_scaler,
        MinMaxScalerSpec: _min_max_scaler,
        NormalizeSpec: _as_given,
        ResizeSpec: _as_given,
        CenterCropSpec: _as_given,
    },
)

FITTED_TRANSFORMS: dict[type[BaseModel], Callable[[SpecModel], Transform]] = {
    FittedStandardScaler: _standardize,
    FittedMinMaxScaler: _rescale,
    NormalizeSpec: _normalize,
    ResizeSpec: _resize,
    CenterCropSpec: _center_crop,
}


def preprocessing_transform(fitted: FittedPreprocessing) -> Transform:
    """Raw samples to network inputs, the same function in training and in predictions."""
    transforms = [FITTED_TRANSFORMS[type(step)](step) for step in fitted.steps]  # type: ignore[arg-type]

    def apply(x: torch.Tensor) -> torch.Tensor:
        for transform in transforms:
            x = transform(x)
        return x

    return apply


def fit_preprocessing(steps: list[PreprocessingStep], train_x: torch.Tensor) -> FittedPreprocessing:
    """The steps in order, each fitted on the training features as the earlier steps leave them."""
    fitted = FittedPreprocessing(raw_shape=tuple(train_x.shape[1:]))
    for step in steps:
        fitted_step = PREPROCESSING.builder(step)(step, train_x)
        train_x = FITTED_TRANSFORMS[type(fitted_step)](fitted_step)(train_x)  # type: ignore[arg-type]
        fitted.steps.append(fitted_step)
    return fitted


def preprocess(splits: Splits, steps: list[PreprocessingStep]) -> Splits:
    """Every split transformed by the steps fitted on the training split only.

    Each split keeps the fitted steps, which a trained network's card carries.
    """
    if not steps:
        return splits
    fitted = fit_preprocessing(steps, splits.train.x)
    apply = preprocessing_transform(fitted)

    def prepared(data: TensorData | None) -> TensorData | None:
        if data is None:
            return None
        return dataclasses.replace(data, x=apply(data.x).contiguous(), preprocessing=fitted)

    train = prepared(splits.train)
    assert train is not None
    return Splits(train, prepared(splits.val), prepared(splits.test))


def _random_crop(step: SpecModel, generator: torch.Generator) -> Transform:
    assert isinstance(step, RandomCropSpec)
    pad = step.padding

    def transform(x: torch.Tensor) -> torch.Tensor:
        if pad == 0:
            return x
        images, _ = _as_images(x)
        n, _, height, width = images.shape
        if step.padding_mode == "constant":
            padded = F.pad(images, (pad, pad, pad, pad), value=step.fill)
        else:
            padded = F.pad(images, (pad, pad, pad, pad), mode=step.padding_mode)
        top = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator, device=x.device)
        left = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator, device=x.device)
        rows = top + torch.arange(height, device=x.device)
        cols = left + torch.arange(width, device=x.device)
        batch = torch.arange(n, device=x.device)[:, None, None]
        out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
        return out.permute(0, 3, 1, 2).reshape(x.shape)

    return transform


def _flip(dim: int, p: float, generator: torch.Generator) -> Transform:
    def transform(x: torch.Tensor) -> torch.Tensor:
        flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
        return torch.where(flip.view(-1, *[1] * (x.dim() - 1)), x.flip(dim), x)

    return transform


def _horizontal_flip(step: SpecModel, generator: torch.Generator) -> Transform:
    assert isinstance(step, RandomHorizontalFlipSpec)
    return _flip(-1, step.p, generator)


def _vertical_flip(step: SpecModel, generator: torch.Generator) -> Transform:
    assert isinstance(step, RandomVerticalFlipSpec)
    return _flip(-2, step.p, generator)


AUGMENTATIONS: Registry[SpecModel, Callable[[SpecModel, torch.Generator], Transform]] = Registry(
    "augmentation step",
    {
        RandomCropSpec: _random_crop,
        RandomHorizontalFlipSpec: _horizontal_flip,
        RandomVerticalFlipSpec: _vertical_flip,
    },
)


def build_augmentation(steps: list[AugmentationStep], generator: torch.Generator) -> Transform:
    """The steps in order, drawing their randomness from generator."""
    transforms = [AUGMENTATIONS.builder(step)(step, generator) for step in steps]

    def apply(x: torch.Tensor) -> torch.Tensor:
        for transform in transforms:
            x = transform(x)
        return x

    return apply


def add_augmentation(
    network: nn.Module, steps: list[AugmentationStep], *, seed: int, device: torch.device
) -> torch.Generator | None:
    """Augment the network's input while it trains, from a generator seeded with seed + 1.

    Returns that generator (None without augmentation): a checkpoint saves its state.
    """
    if not steps:
        return None
    generator = torch.Generator(device=device).manual_seed(seed + 1)
    augment = build_augmentation(steps, generator)

    def hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not module.training:
            return None
        return (augment(args[0]), *args[1:])

    network.register_forward_pre_hook(hook)
    return generator
