"""Workers train at a lower priority than the API: the nice value, and threads inheriting it."""

import os
import subprocess
import sys

import pytest

PROBE = """
import os, threading
from worker.celery_app import lower_priority
lower_priority({nice})
seen = []
thread = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
thread.start(); thread.join()
lower_priority(0)
print(os.getpriority(os.PRIO_PROCESS, 0), seen[0])
"""


def _niceness_after(nice: int) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(nice=nice)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"GRADQ_LOG_LEVEL": "WARNING"},
    )
    return [int(value) for value in done.stdout.split()]


@pytest.mark.skipif(os.getpriority(os.PRIO_PROCESS, 0) > 7, reason="already nicer than 7")
def test_the_worker_and_its_later_threads_run_at_the_nice_value_and_never_go_back() -> None:
    assert _niceness_after(7) == [7, 7]
