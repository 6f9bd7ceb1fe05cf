"""Request bodies over the limit and slow clients (issue 34): the body limit as an ASGI
middleware fed chunk by chunk, the whole app at the ASGI level, and the h11 protocol that
closes connections whose request head does not arrive."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.responses import JSONResponse, PlainTextResponse

from aiducation.web.app import WebConfig, create_app
from aiducation.web.uploads import BodyLimitMiddleware

CHUNK = 2**16
LIMIT = 10 * CHUNK  # 640 KiB


class Feed:
    """An ASGI ``receive`` that hands out ``CHUNK``-byte body parts, counting them."""

    def __init__(self, parts: int | None = None) -> None:
        self.parts = parts  # None: endless (a client that never stops sending)
        self.pulled = 0

    async def __call__(self) -> dict:
        self.pulled += 1
        more = self.parts is None or self.pulled < self.parts
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": more}


class Sent:
    """An ASGI ``send`` keeping the messages."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def __call__(self, message: dict) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def headers(self) -> dict[bytes, bytes]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return dict(start["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )


def scope(headers: dict[str, str] | None = None, path: str = "/upload") -> dict:
    return {
        "type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }  # fmt: skip


async def read_all(scope, receive, send) -> None:
    """An app that reads the whole body, as a form parser does, and says how much it got;
    it answers 400 when reading fails (as FastAPI does for a body it cannot parse)."""
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
    except Exception as exc:
        await PlainTextResponse(f"parse error: {exc}", status_code=400)(scope, receive, send)
        return
    await PlainTextResponse(f"read {size}")(scope, receive, send)


def reject(scope, status: int, message: str):
    return JSONResponse({"error": message}, status_code=status)


def run(app, scope_, receive) -> Sent:
    sent = Sent()
    asyncio.run(app(scope_, receive, sent))
    return sent


def test_a_streamed_body_stops_being_read_right_after_the_limit():
    """Issue 34: a chunked body over the limit was read to 80 MiB before the refusal."""
    feed = Feed()  # never ends
    sent = run(BodyLimitMiddleware(read_all, LIMIT, reject), scope(), feed)
    assert feed.pulled == LIMIT // CHUNK + 1  # the part that passed the limit, not one more
    assert sent.status == 413
    assert sent.headers[b"connection"] == b"close"  # the server reads no more of it
    assert "Upload too large" in json.loads(sent.body)["error"]
    assert b"parse error" not in sent.body  # the app's own answer to the cut is dropped


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    async def app(scope, receive, send):  # pragma: no cover - must not run
        raise AssertionError("the app ran")

    feed = Feed()
    sent = run(BodyLimitMiddleware(app, LIMIT, reject), scope({"Content-Length": "10" * 10}), feed)
    assert feed.pulled == 0 and sent.status == 413
    assert sent.headers[b"connection"] == b"close"


def test_a_body_within_the_limit_is_passed_on_whole():
    feed = Feed(parts=LIMIT // CHUNK)  # exactly the limit
    headers = {"Content-Length": str(LIMIT)}
    sent = run(BodyLimitMiddleware(read_all, LIMIT, reject), scope(headers), feed)
    assert sent.status == 200 and sent.body == f"read {LIMIT}".encode()
    assert b"connection" not in sent.headers


def test_a_stalled_body_is_refused_with_408():
    async def stalled():
        await asyncio.Event().wait()  # the client sends nothing more

    sent = run(BodyLimitMiddleware(read_all, LIMIT, reject, idle_timeout=0.01), scope(), stalled)
    assert sent.status == 408 and "stalled" in json.loads(sent.body)["error"]
    assert sent.headers[b"connection"] == b"close"


def test_no_idle_timeout_once_the_body_is_complete():
    """A response waiting for the client to disconnect (a long download) is not cut."""
    calls = []

    async def receive():
        calls.append(len(calls))
        if len(calls) == 1:
            return {"type": "http.request", "body": b"abc", "more_body": False}
        await asyncio.sleep(0.05)  # longer than the idle timeout: passed on untimed
        return {"type": "http.disconnect"}

    async def app(scope, receive, send):
        assert (await receive())["body"] == b"abc"
        assert (await receive())["type"] == "http.disconnect"
        await PlainTextResponse("done")(scope, receive, send)

    sent = run(BodyLimitMiddleware(app, LIMIT, reject, idle_timeout=0.01), scope(), receive)
    assert sent.status == 200 and sent.body == b"done"


def app_scope(path: str, headers: dict[str, str]) -> dict:
    return scope({"Host": "127.0.0.1:8000", **headers}, path=path)


@pytest.mark.parametrize("path", ["/api/analyze", "/analyze", "/annotate/gender"])
def test_the_app_refuses_a_declared_length_without_reading(stub_analyzer, path):
    app = create_app(WebConfig(max_upload_mb=1), analyzer=stub_analyzer)
    feed = Feed()
    headers = {
        "Content-Length": str(400 * 2**20),
        "Content-Type": "multipart/form-data; boundary=x",
    }
    sent = run(app, app_scope(path, headers), feed)
    assert feed.pulled == 0 and sent.status == 413
    assert sent.headers[b"connection"] == b"close"
    assert b"Upload too large" in sent.body and b"1 MiB" in sent.body
    assert b"content-security-policy" in sent.headers  # still through the request guard


def test_the_app_stops_reading_a_chunked_upload_at_the_limit(stub_analyzer):
    app = create_app(WebConfig(max_upload_mb=1), analyzer=stub_analyzer)
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    pulled = 0

    async def receive():  # a multipart body that never ends
        nonlocal pulled
        pulled += 1
        body = head + b"\xff\xd8\xff" + b"\0" * (CHUNK - len(head) - 3) if pulled == 1 else None
        return {"type": "http.request", "body": body or b"\0" * CHUNK, "more_body": True}

    sent = run(app, app_scope("/api/analyze", {"Content-Type": "multipart/form-data; boundary=x"}),
               receive)  # fmt: skip
    limit = 2**20 + 2**16  # --max-upload-mb plus 64 KiB for the form's framing
    assert pulled == limit // CHUNK + 1
    assert sent.status == 413 and "Upload too large" in json.loads(sent.body)["error"]
    assert sent.headers[b"connection"] == b"close"


def test_the_app_refuses_uploads_before_the_token_check_reads_nothing(stub_analyzer):
    """Bound to the network, a request without the token is refused before its body."""
    app = create_app(WebConfig(host="0.0.0.0", token="t" * 20), analyzer=stub_analyzer)
    feed = Feed()
    sent = run(app, app_scope("/api/analyze", {"Content-Type": "multipart/form-data"}), feed)
    assert sent.status == 401 and feed.pulled == 0


# --- slow request heads: the uvicorn protocol of `aiducation serve` -----------------------


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed, self.written = False, b""

    def get_extra_info(self, name, default=None):
        return {"peername": ("10.0.0.9", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def write(self, data) -> None:
        self.written += bytes(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def protocol():
    import uvicorn
    from uvicorn.server import ServerState

    from aiducation.web.server import HeadTimeoutH11Protocol

    config = uvicorn.Config(PlainTextResponse("hello"), **_options())
    config.load()
    proto = HeadTimeoutH11Protocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    transport = Transport()
    proto.connection_made(transport)
    return proto, transport


def _options() -> dict:
    from aiducation.web.server import uvicorn_options

    return {k: v for k, v in uvicorn_options().items() if k != "log_level"}


def test_a_connection_whose_request_head_never_completes_is_closed():
    """Issue 34: 100 connections sending half a request line were all still open after 40 s."""
    from aiducation.web.server import HEAD_TIMEOUT

    async def scenario():
        proto, transport = protocol()
        timer = proto._head_timer
        assert timer is not None  # armed when the connection is made
        assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(
            HEAD_TIMEOUT, abs=1
        )
        proto.data_received(b"GET /analyze HT")
        assert proto._head_timer is timer  # more bytes do not restart the clock
        proto.data_received(b"TP/1.1\r\nHost: 127.0.0.1:8000\r\n")
        assert proto._head_timer is timer and not transport.closed
        timer.cancel()
        proto.head_timeout_handler()  # the timer fires
        assert transport.closed
        proto.connection_lost(None)

    asyncio.run(scenario())


def test_a_complete_request_head_stops_the_clock_and_is_answered():
    async def scenario():
        proto, transport = protocol()
        proto.data_received(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n")
        assert proto._head_timer is None and not transport.closed
        while proto.server_state.tasks:  # the app answers
            await asyncio.gather(*proto.server_state.tasks)
        assert transport.written.startswith(b"HTTP/1.1 200") and b"hello" in transport.written
        assert proto._head_timer is None  # idle now: uvicorn's keep-alive timer's job
        assert proto.timeout_keep_alive_task is not None
        proto.data_received(b"GET / HT")  # half of a second request: the clock runs again
        assert proto._head_timer is not None and proto.timeout_keep_alive_task is None
        proto.head_timeout_handler()
        assert transport.closed
        proto.connection_lost(None)
        assert proto._head_timer is None

    asyncio.run(scenario())
