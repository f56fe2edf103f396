"""The tracking server's process-group helpers, on plain Python processes."""

import subprocess
import sys
import time

from bench.tracking_server import _stop, group_cpu_seconds

# a parent that starts a busy child and then waits: the group's CPU is the child's
BUSY_FAMILY = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'])"


def test_group_cpu_counts_every_process_and_stop_ends_them_all() -> None:
    family = subprocess.Popen([sys.executable, "-c", BUSY_FAMILY], start_new_session=True)
    try:
        time.sleep(0.5)
        before = group_cpu_seconds(family.pid)
        time.sleep(1.0)
        assert group_cpu_seconds(family.pid) - before > 0.3
    finally:
        _stop(family)
    time.sleep(0.2)
    assert group_cpu_seconds(family.pid) == 0


def test_an_idle_group_uses_no_cpu() -> None:
    idle = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        before = group_cpu_seconds(idle.pid)
        time.sleep(1.0)
        assert group_cpu_seconds(idle.pid) - before < 0.05
    finally:
        _stop(idle)
    assert idle.returncode == -15
