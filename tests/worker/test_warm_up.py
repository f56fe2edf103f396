"""A worker trains the tiny spec once when it starts, so its first job skips torch's first-use
costs."""

import subprocess
import sys

from tests.integration.stack import REPO_ROOT

_PROBE = """
import gc, logging
logging.basicConfig(level=logging.INFO)
from worker.warm_up import warm_up
seconds = warm_up()
print("frozen", gc.get_freeze_count(), "seconds", seconds)
"""


def test_warm_up_trains_the_tiny_spec_and_settles_the_heap() -> None:
    # a process of its own: gc.freeze would keep this test session's objects forever
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    _, frozen, _, seconds = done.stdout.split()
    assert int(frozen) > 0
    assert float(seconds) > 0
    assert "event=worker_warmed_up" in done.stderr


def test_the_worker_warms_up_before_it_consumes_a_message() -> None:
    from celery.signals import worker_ready

    from worker import celery_app

    connected = [receiver() for _, receiver in worker_ready.receivers]
    assert celery_app._warm_up in connected
