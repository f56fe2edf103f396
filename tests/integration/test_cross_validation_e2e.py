"""k-fold cross-validation through HTTP, queue and worker: a parent settled by its fold jobs."""

import statistics

import pytest

from tests.helpers import moons_spec
from tests.integration.stack import Stack, wait_for


def test_three_folds_train_and_the_parent_holds_their_mean_and_spread(stack: Stack) -> None:
    client = stack.client()
    spec = moons_spec(epochs=30)
    spec["dataset"]["split"] = {"folds": 3, "stratify": True}
    created = client.post("/api/v1/jobs", json={"name": "cv", "spec": spec})
    assert created.status_code == 201, created.text
    parent = created.json()
    assert parent["kind"] == "cross_validation"
    done = wait_for(client, parent["id"], timeout=120)
    assert done["status"] == "succeeded", done
    folds = client.get(f"/api/v1/jobs/{parent['id']}/folds").raise_for_status().json()["folds"]
    assert sorted(fold["fold"] for fold in folds) == [0, 1, 2]
    assert all(fold["status"] == "succeeded" for fold in folds)
    losses = [fold["final_metrics"]["val_loss"] for fold in folds]
    summary = done["final_metrics"]
    assert summary["folds"] == 3
    assert summary["val_loss_mean"] == pytest.approx(statistics.fmean(losses), rel=1e-12)
    assert summary["val_loss_std"] == pytest.approx(statistics.pstdev(losses), rel=1e-9)
    child = client.get(f"/api/v1/jobs/{folds[0]['id']}").json()
    assert child["parent_id"] == parent["id"]
