"""Where the API's time goes under load: py-spy samples of the running uvicorn process."""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TOP = 25
SAMPLE_RATE = 250
# frames of our own code (py-spy names files relative to sys.path), ranked including callees
GRADQ_CODE = re.compile(r" \((api|core|models)/")
# where a thread with nothing to do sits: left out of the ranking by own time
IDLE = ("Condition.wait (threading.py)", "Runner.run (asyncio/runners.py)")


def py_spy() -> str | None:
    """py-spy next to this interpreter or on PATH (it is not a dependency: pip install py-spy)."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def api_pid(port: int) -> int | None:
    """The uvicorn process serving on port, found by its command line and environment."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"uvicorn" in cmdline and f"GRADQ_PORT={port}".encode() in environ:
            return int(proc.name)
    return None


@contextmanager
def sampled(port: int, output: Path) -> Iterator[None]:
    """py-spy records the API process (all threads, idle ones left out) while the block runs."""
    binary, pid = py_spy(), api_pid(port)
    if binary is None or pid is None:
        raise RuntimeError(f"cannot profile the API: py-spy {binary}, uvicorn pid {pid}")
    command = [binary, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE)]
    command += ["--format", "raw", "--output", str(output), "--nonblocking"]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def _function(frame: str) -> str:
    """`name (path:line)` -> `name (path)`: time of a function over all its lines."""
    name, _, place = frame.partition(" (")
    return f"{name} ({place.rsplit(':', 1)[0]})" if place else name


def summarise(raw: Path) -> dict[str, Any]:
    """Busy functions by own samples and ours including callees, in % of all samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(frame) for frame in stack.split(";")]
        samples += int(count)
        if frames[-1] not in IDLE:
            own[frames[-1]] += int(count)
        for frame in set(frames):
            if GRADQ_CODE.search(frame):
                total[frame] += int(count)

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "percent": round(100 * n / samples, 1)}
            for frame, n in counter.most_common(TOP)
        ]

    return {"samples": samples, "top_own": share(own), "gradq_inclusive": share(total)}
