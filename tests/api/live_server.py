"""A real uvicorn server for the API on a free local port, in a thread of the test process.

Settings are read per request, so a test that changes GRADQ_* (and clears get_settings) sees the
change in this server too.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.main import create_app
from tests.integration.stack import free_port


@contextmanager
def live_server() -> Iterator[str]:
    """The base URL of a running server; stopped on exit."""
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
