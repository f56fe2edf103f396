"""Preprocessing fitted on the training split only, image transforms, and augmentation."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from torch import nn
from torch.nn import functional as F

from training.build.data import build_dataset, build_splits, load_dataset
from training.build.preprocessing import add_augmentation, build_augmentation
from training.checks import static_problems
from training.evaluation import evaluate
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetBase, DatasetSpec
from training.spec.preprocessing import RandomCropSpec, RandomHorizontalFlipSpec
from training.splits import split_indices

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
SPLIT = {"val": 0.2, "test": 0.2, "seed": 3}


def _dataset(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


def _raw_parts(spec: DatasetBase) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = load_dataset(spec).x.numpy()
    assert spec.split is not None
    train, val, test = split_indices(len(x), spec.split)
    return x[train], x[val], x[test]


@pytest.mark.parametrize(
    ("step", "scaler"),
    [
        ({"type": "StandardScaler"}, StandardScaler()),
        ({"type": "StandardScaler", "with_mean": False}, StandardScaler(with_mean=False)),
        ({"type": "MinMaxScaler"}, MinMaxScaler()),
        (
            {"type": "MinMaxScaler", "feature_range": [-1, 1], "clip": True},
            MinMaxScaler(feature_range=(-1, 1), clip=True),
        ),
    ],
)
def test_scalers_are_fitted_on_the_training_split_only(step: dict[str, Any], scaler: Any) -> None:
    spec = _dataset({"type": "wine", "split": SPLIT, "preprocessing": [step]})
    splits = build_splits(spec)
    train, val, test = _raw_parts(spec)
    scaler.fit(train)
    assert splits.val is not None
    assert splits.test is not None
    for got, raw in ((splits.train, train), (splits.val, val), (splits.test, test)):
        assert got.x.numpy() == pytest.approx(scaler.transform(raw), abs=2e-5)


def test_validation_statistics_do_not_leak_into_the_fit() -> None:
    spec = _dataset({"type": "wine", "split": SPLIT, "preprocessing": [{"type": "StandardScaler"}]})
    splits = build_splits(spec)
    assert splits.val is not None
    assert splits.train.x.mean(dim=0).abs().max() < 1e-5
    assert splits.train.x.std(dim=0, correction=0) == pytest.approx(torch.ones(13), abs=1e-4)
    # fitted on everything, the validation split's own mean would shift the training split off 0
    everything = _dataset({"type": "wine", "preprocessing": [{"type": "StandardScaler"}]})
    assert splits.val.x.mean(dim=0).abs().max() > 0.05
    assert build_dataset(everything).x.mean(dim=0).abs().max() < 1e-5


def test_per_channel_statistics_and_normalize() -> None:
    image = {"type": "random", "n_samples": 40, "input_shape": [3, 4, 4], "num_classes": 2}
    spec = _dataset(image | {"preprocessing": [{"type": "StandardScaler", "per_channel": True}]})
    x = build_dataset(spec).x
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert x.std(dim=(0, 2, 3), correction=0) == pytest.approx(torch.ones(3), abs=1e-5)
    step = {"type": "Normalize", "mean": [0.5, 0.0, -1.0], "std": [2.0, 1.0, 0.5]}
    raw = load_dataset(spec).x
    normalized = build_dataset(_dataset(image | {"preprocessing": [step]})).x
    expected = (raw - torch.tensor([0.5, 0.0, -1.0]).view(1, 3, 1, 1)) / torch.tensor(
        [2.0, 1.0, 0.5]
    ).view(1, 3, 1, 1)
    assert torch.allclose(normalized, expected)
    with pytest.raises(ValidationError, match="Normalize has 2 means"):
        _dataset(image | {"preprocessing": [{"type": "Normalize", "mean": [0, 0], "std": [1, 1]}]})


def test_resize_and_center_crop_change_the_shape_the_network_sees() -> None:
    digits = {"type": "digits", "flatten": False}
    resize = {"type": "Resize", "size": [16, 12]}
    crop = {"type": "CenterCrop", "size": [10, 10]}
    spec = _dataset(digits | {"preprocessing": [resize, crop]})
    assert (spec.loaded_shape(), spec.sample_shape()) == ((1, 8, 8), (1, 10, 10))
    x = build_dataset(spec).x
    assert x.shape == (1797, 1, 10, 10)
    raw = load_dataset(spec).x
    resized = F.interpolate(
        raw, size=(16, 12), mode="bilinear", align_corners=False, antialias=True
    )
    assert torch.allclose(x, resized[..., 3:13, 1:11])
    padded = build_dataset(_dataset(digits | {"preprocessing": [crop]})).x
    assert torch.equal(padded[..., 1:9, 1:9], raw)
    assert padded[..., 0, :].abs().sum() == 0


def test_checks_see_the_preprocessed_shape() -> None:
    spec = {
        "dataset": {
            "type": "digits",
            "flatten": False,
            "preprocessing": [{"type": "Resize", "size": [16, 16]}],
        },
        "model": {"layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.1},
        "training": {"epochs": 1, "batch_size": 64},
    }
    parsed = TrainingSpec.model_validate(spec)
    assert [p for p in static_problems(parsed) if p.blocking] == []
    run = build_run(parsed, torch.device("cpu"))
    assert run.network(run.train.x[:2]).shape == (2, 10)
    linear = list(run.network.children())[1]
    assert isinstance(linear, nn.Linear)
    assert linear.in_features == 256


def test_image_steps_need_images() -> None:
    with pytest.raises(ValidationError) as caught:
        _dataset(
            {
                "type": "iris",
                "augmentation": [
                    {"type": "RandomHorizontalFlip"},
                    {"type": "RandomCrop", "padding": 2},
                ],
            }
        )
    assert caught.value.errors()[0]["loc"][1:] == ("augmentation", 1)
    assert "RandomCrop needs image samples" in str(caught.value)


def test_random_crop_pads_and_crops_back_to_the_image_size() -> None:
    generator = torch.Generator().manual_seed(0)
    crop = build_augmentation([RandomCropSpec(padding=2)], generator)
    images = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5) + 1
    out = crop(images)
    assert out.shape == images.shape
    padded = F.pad(images, (2, 2, 2, 2))
    for n in range(2):
        windows = [
            (top, left)
            for top in range(5)
            for left in range(5)
            if torch.equal(out[n], padded[n, :, top : top + 5, left : left + 5])
        ]
        assert len(windows) == 1  # every channel cut at the same place
    crops = {tuple(crop(images)[0, 0, :, 0].tolist()) for _ in range(30)}
    assert len(crops) > 3


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_random_crop_padding_modes(mode: str) -> None:
    spec = RandomCropSpec.model_validate({"padding": 2, "padding_mode": mode, "fill": -1.0})
    crop = build_augmentation([spec], torch.Generator().manual_seed(2))
    images = torch.rand(16, 3, 6, 6)
    out = crop(images)
    assert out.shape == images.shape
    assert bool((out == -1).any()) == (mode == "constant")


def test_flips_flip_some_images_whole() -> None:
    flip = build_augmentation([RandomHorizontalFlipSpec(p=0.5)], torch.Generator().manual_seed(1))
    images = torch.randn(64, 2, 3, 4)
    out = flip(images)
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54
    never = build_augmentation([RandomHorizontalFlipSpec(p=0.0)], torch.Generator())
    assert torch.equal(never(images), images)


def test_augmentation_acts_only_while_the_network_trains() -> None:
    seen: list[torch.Tensor] = []
    network = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    network.register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    add_augmentation(network, [RandomCropSpec(padding=1)], seed=0, device=torch.device("cpu"))
    images = torch.randn(8, 1, 4, 4)
    network(images)
    assert not torch.equal(seen[-1], images)
    network.eval()
    network(images)
    assert torch.equal(seen[-1], images)


def test_an_augmented_run_is_reproducible_and_differs_from_a_plain_one() -> None:
    augmentation = [{"type": "RandomCrop", "padding": 1}, {"type": "RandomHorizontalFlip"}]
    dataset: dict[str, Any] = {"type": "digits", "flatten": False, "split": {"val": 0.2}}
    spec = {
        "dataset": dataset,
        "model": {"layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.01},
        "training": {"epochs": 2, "batch_size": 256, "seed": 5},
    }
    losses = []
    for steps in (augmentation, augmentation, []):
        dataset["augmentation"] = steps
        sink = ListSink()
        run = build_run(TrainingSpec.model_validate(spec), torch.device("cpu"))
        fit(run, sink)
        assert run.val is not None
        again = evaluate(run.network, run.loss_fn, run.val, None)
        assert again["val_loss"] == pytest.approx(sink.epochs[-1]["val_loss"], abs=1e-6)
        losses.append([e["train_loss"] for e in sink.epochs])
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]
