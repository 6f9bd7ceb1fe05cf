"""How ``aiducation serve`` runs the app under uvicorn: limits on slow and idle clients.

uvicorn's HTTP/1.1 protocols time out idle keep-alive connections (``timeout_keep_alive``)
but not a client that sends a request's head slowly, or half of it and then nothing: such
connections stayed open for as long as the client liked (100 of them were all still open after
40 s, issue 34). :class:`HeadTimeoutH11Protocol` closes a connection whose request line and
headers are not complete within :data:`HEAD_TIMEOUT` seconds of its first byte (or of the
connection). A stalled *body* is refused by :class:`aiducation.web.uploads.BodyLimitMiddleware`.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # s for a request's line and headers to arrive whole
KEEP_ALIVE_TIMEOUT = 5  # s an idle keep-alive connection stays open (uvicorn's default)
MAX_HEAD_BYTES = 16 * 1024  # a request head (line + headers) above this: HTTP 400
MAX_CONNECTIONS = 64  # open connections / running requests; beyond: HTTP 503


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head arrives too slowly."""

    head_timeout: float = HEAD_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def waiting_for_head(self) -> bool:
        """Whether the next request's head is due (no request running, none started)."""
        idle_cycle = self.cycle is None or self.cycle.response_complete
        return self.conn.their_state is h11.IDLE and idle_cycle

    def _watch_head(self) -> None:
        """Start the head timer on a fresh connection or on the first bytes of a head (uvicorn
        stops its keep-alive timer on any data); stop it once the head is complete."""
        if self.transport.is_closing() or not self.waiting_for_head():
            self._stop_head_timer()
        elif self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self.head_timeout_handler)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def head_timeout_handler(self) -> None:
        """The head did not arrive in time: close the connection (nothing is running)."""
        self._head_timer = None
        if not self.transport.is_closing() and self.waiting_for_head():
            self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def uvicorn_options() -> dict:
    """Keyword arguments of :func:`uvicorn.run` for ``aiducation serve`` (besides host/port)."""
    return {
        "http": HeadTimeoutH11Protocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": MAX_CONNECTIONS,
        "log_level": "warning",
    }
