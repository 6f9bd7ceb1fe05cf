"""A real server for the browser and job tests: the app on 127.0.0.1 and a free port, uvicorn
in a background thread (lifespan included, so the job worker runs)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from aiducation.web.app import WebConfig, create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(config: WebConfig, analyzer=None, **uvicorn_options) -> Iterator[tuple[str, object]]:
    """Yield ``(base URL, app)`` for ``config`` served on a free port; stop it after."""
    import uvicorn

    port = free_port()
    app = create_app(replace(config, host="127.0.0.1", port=port), analyzer=analyzer)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **uvicorn_options))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_until(check: Callable[[], object], timeout: float = 60, what: str = "it") -> object:
    """Poll ``check`` until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.05)
    return value
