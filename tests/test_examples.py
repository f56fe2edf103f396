"""Every spec in examples/ passes the server's validation, and shows what its README row says."""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from fastapi.testclient import TestClient

from core.settings import get_settings
from tests.helpers import MOONS_GOLDEN
from training.datasets.idx import set_dir, write_idx
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
FILE_DATASETS = {"mnist", "fashion_mnist"}


def _spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((EXAMPLES_DIR / name).read_text())
    return spec


def _validate(client: TestClient, headers: dict[str, str], spec: dict[str, Any]) -> Any:
    return client.post("/api/v1/jobs/validate", json={"spec": spec}, headers=headers)


def _missing_feature(client: TestClient, headers: dict[str, str], spec: dict[str, Any]) -> str:
    """What this server lacks to run the spec's data set, or "" when it has everything."""
    entries = client.get("/api/v1/catalog/datasets", headers=headers).json()
    by_type = {entry["type"]: entry for entry in entries}
    dataset = spec["dataset"]
    entry = by_type.get(dataset["type"])
    if entry is None:
        return f"this server has no data set type {dataset['type']!r} yet"
    known = {parameter["name"] for parameter in entry["parameters"]}
    unknown = sorted(set(dataset) - known - {"type"})
    return f"{dataset['type']} takes no {', '.join(unknown)} yet" if unknown else ""


@pytest.fixture
def idx_files(tmp_path: Path) -> Iterator[Path]:
    """Small MNIST and Fashion-MNIST files in a data directory of their own, for this test."""
    rng = np.random.default_rng(0)
    for name in FILE_DATASETS:
        images = rng.integers(0, 256, size=(12_000, 28, 28), dtype=np.uint8)
        labels = np.arange(12_000, dtype=np.uint8) % 10
        write_idx(set_dir(tmp_path, name) / "train-images-idx3-ubyte", images)
        write_idx(set_dir(tmp_path, name) / "train-labels-idx1-ubyte", labels)
    previous = os.environ["GRADQ_DATA_DIR"]
    os.environ["GRADQ_DATA_DIR"] = str(tmp_path)
    get_settings.cache_clear()
    try:
        yield tmp_path
    finally:
        os.environ["GRADQ_DATA_DIR"] = previous
        get_settings.cache_clear()


def test_there_is_an_example_per_workload() -> None:
    assert len(EXAMPLES) >= 10


def test_the_readme_table_lists_every_example() -> None:
    readme = (EXAMPLES_DIR / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+\.yaml)` \|", readme, flags=re.MULTILINE))
    assert listed == {path.name for path in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_starts_with_what_it_shows(path: Path) -> None:
    assert path.read_text().startswith("# ")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_is_valid(
    client: TestClient, alice: dict[str, str], path: Path, request: pytest.FixtureRequest
) -> None:
    spec = _spec(path.name)
    missing = _missing_feature(client, alice, spec)
    if missing:
        pytest.xfail(missing)
    if spec["dataset"]["type"] in FILE_DATASETS:
        request.getfixturevalue("idx_files")
    response = _validate(client, alice, spec)
    if response.status_code == 422 and "DataUnavailable" in response.text:
        pytest.xfail(f"validation cannot read the data set's files yet: {response.text}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True
    assert body["warnings"] == []


def test_moons_is_the_golden_run() -> None:
    assert _spec("moons.yaml") == MOONS_GOLDEN


def test_testnet_summary_counts_as_torchsummary(client: TestClient, alice: dict[str, str]) -> None:
    summary = _validate(client, alice, _spec("testnet-summary.yaml")).json()["dry_run"]["summary"]
    assert summary["total_params"] == 166_108
    assert [layer["params"] for layer in summary["layers"] if layer["params"]] == [
        448,
        160_100,
        5_050,
        510,
    ]


def _preview(client: TestClient, headers: dict[str, str], name: str) -> list[float]:
    spec = _spec(name)
    body = {
        "optimizer": spec["optimizer"],
        "scheduler": spec["scheduler"],
        "epochs": spec["training"]["epochs"],
    }
    response = client.post("/api/v1/schedules/preview", json=body, headers=headers)
    assert response.status_code == 200, response.text
    lrs: list[float] = response.json()["lr_per_epoch"]
    return lrs


def test_multisteplr_steps_at_its_milestones(client: TestClient, alice: dict[str, str]) -> None:
    lrs = _preview(client, alice, "moons-multisteplr.yaml")
    assert [lrs[198], lrs[199], lrs[699], lrs[899]] == pytest.approx(
        [0.01, 0.0099, 0.009801, 0.00970299]
    )


def test_steplr_ends_at_the_articles_lr(client: TestClient, alice: dict[str, str]) -> None:
    assert _preview(client, alice, "moons.yaml")[-1] == pytest.approx(0.008179, abs=1e-6)


def test_warmup_then_cosine(client: TestClient, alice: dict[str, str]) -> None:
    lrs = _preview(client, alice, "warmup-cosine.yaml")
    assert lrs[:5] == sorted(lrs[:5])
    assert max(lrs) == pytest.approx(0.01)
    assert lrs[5:] == sorted(lrs[5:], reverse=True)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9)


def _trained(name: str) -> tuple[float, float]:
    """The weight norm and test loss after training the example on the CPU."""
    run = build_run(TrainingSpec.model_validate(_spec(name)), torch.device("cpu"))
    result = fit(run, ListSink())
    weight = next(p for n, p in run.network.named_parameters() if n.endswith("weight"))
    return float(weight.detach().norm()), float(result.test_metrics["test_loss"])


def test_weight_decay_pair_shows_the_articles_effect() -> None:
    norm_off, test_off = _trained("weight-decay-off.yaml")
    norm_on, test_on = _trained("weight-decay.yaml")
    assert norm_off > 10 > 1 > norm_on  # the article: 12.6 and 0.37
    assert test_off > 100 > 1 > test_on
    assert test_off / test_on > 100


def test_weight_decay_pair_differs_only_in_decay() -> None:
    off, on = _spec("weight-decay-off.yaml"), _spec("weight-decay.yaml")
    assert off["optimizer"].get("weight_decay", 0) == 0
    assert on["optimizer"]["weight_decay"] == 3.0
    assert on["optimizer"]["no_decay_on_bias"] is True
    on["optimizer"] = off["optimizer"]
    assert on == off
