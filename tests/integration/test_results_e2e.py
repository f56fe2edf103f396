"""Live events, downsampled metrics and results of a real job on a running server and worker."""

import json
from typing import Any

import httpx
import pytest
import torch
from safetensors.torch import load as load_tensors

from tests.helpers import moons_spec
from tests.integration.stack import Stack, new_user, wait_for
from training.build.networks import build_network
from training.spec.model import ModelSpec

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EPOCHS = 300


def _stream(client: httpx.Client, job_id: str) -> list[tuple[str, Any]]:
    """Every event of the job's stream, until the server ends it."""
    received: list[tuple[str, Any]] = []
    headers = {"Accept": "text/event-stream"}
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                received.append((event, json.loads(line.removeprefix("data: "))))
    return received


def test_stream_metrics_and_results_of_a_live_job(stack: Stack) -> None:
    with stack.client(new_user(stack, "results")) as client:
        created = client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=EPOCHS)})
        job_id = created.json()["id"]
        received = _stream(client, job_id)
        job = wait_for(client, job_id)
        assert job["status"] == "succeeded", (job, stack.log_tail())

        epochs = [data["epoch"] for event, data in received if event == "epoch"]
        assert epochs == list(range(1, EPOCHS + 1))
        assert [event for event, _ in received if event != "epoch"] == [
            "queued",
            "started",
            *["epoch_milestone"] * 3,
            "succeeded",
            "end",
        ]
        milestones = [data for event, data in received if event == "epoch_milestone"]
        assert [data["data"]["percent"] for data in milestones] == [25, 50, 75]

        url = f"/api/v1/jobs/{job_id}/metrics"
        page = client.get(url, params={"max_points": 100, "keys": "train_loss"})
        items = page.json()["items"]
        assert len(items) <= 100
        assert (items[0]["epoch"], items[-1]["epoch"]) == (1, EPOCHS)
        etag = page.headers["etag"]
        again = client.get(
            url, params={"max_points": 100, "keys": "train_loss"}, headers={"If-None-Match": etag}
        )
        assert again.status_code == 304

        card = client.get(f"/api/v1/jobs/{job_id}/network").json()
        weights = client.get(f"/api/v1/jobs/{job_id}/weights", params={"which": "best"})
        network = build_network(ModelSpec.model_validate(card["model"]), (2,))
        network.load_state_dict(load_tensors(weights.content))
        inputs = [[0.0, 0.0], [1.0, -0.5]]
        predicted = client.post(
            f"/api/v1/jobs/{job_id}/predict", json={"inputs": inputs, "which": "best"}
        ).json()
        with torch.no_grad():
            expected = network.eval()(torch.tensor(inputs))
        torch.testing.assert_close(torch.tensor(predicted["outputs"]), expected, rtol=0, atol=1e-6)

        image = client.get(f"/api/v1/jobs/{job_id}/decision_boundary.png")
        assert image.content.startswith(b"\x89PNG")
