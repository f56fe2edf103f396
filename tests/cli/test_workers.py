"""One worker process per GPU, each seeing only its own device; one CPU worker without GPUs."""

import pytest

from cli.workers import visible_gpus, worker_launches
from core.settings import Settings


def test_one_solo_worker_per_gpu_with_only_that_gpu_visible() -> None:
    launches = worker_launches(Settings(TRAINING_QUEUE="q"), ["0", "1"], {"PATH": "/bin"})
    assert [launch.env["CUDA_VISIBLE_DEVICES"] for launch in launches] == ["0", "1"]
    for launch, name in zip(launches, ["gpu0@%h", "gpu1@%h"], strict=True):
        assert "--pool=solo" in launch.command
        assert {"--without-mingle", "--without-gossip"} <= set(launch.command)
        assert launch.command[-2:] == ["-n", name]
        assert launch.command[launch.command.index("-Q") + 1] == "q"
        assert launch.env["PATH"] == "/bin"


def test_a_cpu_only_host_runs_one_worker_without_touching_cuda_settings() -> None:
    (launch,) = worker_launches(Settings(), [], {"PATH": "/bin"})
    assert "CUDA_VISIBLE_DEVICES" not in launch.env
    assert launch.command[-2:] == ["-n", "cpu@%h"]


def test_gpu_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert visible_gpus("none") == []
    assert visible_gpus("0, 2") == ["0", "2"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,4")
    assert visible_gpus("auto") == ["3", "4"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert visible_gpus("auto") == []
