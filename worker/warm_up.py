"""What a worker process does once, before it takes its first job."""

import logging
import time

import torch

from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.warm_up import TINY_SPEC, settle_heap

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Build and train the tiny spec for one epoch on the CPU, then settle the heap; seconds.

    Building a run probes its network on the meta device, and the first probe in a process
    loads torch's meta kernels: about a second, paid here rather than by the first job. A CUDA
    device is left alone: its context holds GPU memory for as long as the worker lives, and a
    worker may never be sent a job for it.
    """
    started = time.perf_counter()
    run = build_run(TrainingSpec.model_validate(TINY_SPEC), torch.device("cpu"))
    fit(run, ListSink())
    settle_heap()
    seconds = time.perf_counter() - started
    log.info("event=worker_warmed_up seconds=%.3f", seconds)
    return seconds
