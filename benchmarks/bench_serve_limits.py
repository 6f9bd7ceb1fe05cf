"""Peak memory and connection hold times of a real ``aiducation serve`` for hostile requests.

Not a test (no ``test_`` prefix): a measurement for docs/benchmarks.md ("Web app: oversized
uploads and slow clients"). Starts the server as a subprocess on a free loopback port, then:

1. an upload declared (``Content-Length``) and sent at ``--upload-mb`` MiB, over the 50 MiB limit;
2. a chunked body (no ``Content-Length``) of up to ``--upload-mb`` MiB, sent until the server
   answers or closes;
3. ``--slow`` connections that send half a request line and then nothing, held at most
   ``--hold`` s.

After each it prints the server's peak resident memory (``VmHWM`` of /proc/<pid>/status), the
bytes the client could send and the answer::

    .venv/bin/python benchmarks/bench_serve_limits.py --upload-mb 400 --slow 100 --hold 40
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET /model HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                if s.recv(12).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not answer")


def send_body(port: int, head: bytes, chunks, total: int) -> tuple[int, str, float]:
    """Send ``head`` then up to ``total`` bytes from ``chunks`` (bytes objects) until the server
    answers or closes; return (body bytes sent, first line of the answer, seconds)."""
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending = memoryview(head)
    sent_body, answer, body_started = 0, b"", False
    closed = False
    try:
        while not closed and time.monotonic() - start < 120:
            for _, events in selector.select(timeout=1):
                if events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except (ConnectionResetError, BlockingIOError):
                        data = b""
                    if not data:
                        closed = True
                        break
                    answer += data
                    if b"\r\n\r\n" in answer:  # a full answer head: stop sending
                        closed = True
                        break
                if events & selectors.EVENT_WRITE:
                    if not pending:
                        if sent_body >= total:
                            selector.modify(sock, selectors.EVENT_READ)
                            continue
                        body_started = True
                        pending = memoryview(next(chunks)[: total - sent_body])
                    try:
                        n = sock.send(pending)
                    except (BrokenPipeError, ConnectionResetError):
                        closed = True
                        break
                    except BlockingIOError:
                        continue
                    if body_started:
                        sent_body += n
                    pending = pending[n:]
        if not answer:  # the server may still send its answer after we stopped
            sock.setblocking(True)
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                answer = sock.recv(65536)
    finally:
        sock.close()
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed, no answer)"
    return sent_body, line, time.monotonic() - start


def send_naively(port: int, head: bytes, chunks, total: int) -> tuple[int, str, float]:
    """Like a simple client (``requests``, ``httpx``): send the whole body, then read."""
    start = time.monotonic()
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        try:
            sock.sendall(head)
            while sent < total:
                chunk = next(chunks)[: total - sent]
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server closed the connection: stop sending
            pass
        with contextlib.suppress(OSError):
            answer = sock.recv(65536)
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed, no answer)"
    return sent, line, time.monotonic() - start


def multipart_head(port: int, length: int, boundary: str) -> bytes:
    return (
        f"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def declared_upload(port: int, size: int, naive: bool = False) -> tuple[int, str, float]:
    boundary = "benchboundary"
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    end = f"\r\n--{boundary}--\r\n".encode()
    length = len(start) + size + len(end)

    def chunks():
        yield start + b"\xff\xd8\xff" + b"\0" * (MIB - 3)
        while True:
            yield b"\0" * MIB

    send = send_naively if naive else send_body
    return send(port, multipart_head(port, length, boundary), chunks(), length)


def chunked_upload(port: int, size: int, naive: bool = False) -> tuple[int, str, float]:
    boundary = "benchboundary"
    head = (
        f"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()

    def chunks():
        first = start + b"\xff\xd8\xff" + b"\0" * (MIB - 3 - len(start))
        yield f"{len(first):x}\r\n".encode() + first + b"\r\n"
        while True:
            yield f"{MIB:x}\r\n".encode() + b"\0" * MIB + b"\r\n"

    return (send_naively if naive else send_body)(port, head, chunks(), size)


def slow_clients(port: int, count: int, hold: float) -> tuple[int, float, float]:
    """Open ``count`` connections sending half a request line; return (closed by the server
    within ``hold`` s, median and max seconds until closed, ``hold`` when never)."""
    sockets = []
    start = time.monotonic()
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /analyze HT")
        s.setblocking(False)
        sockets.append(s)
    selector = selectors.DefaultSelector()
    for s in sockets:
        selector.register(s, selectors.EVENT_READ)
    closed_at: dict[socket.socket, float] = {}
    while len(closed_at) < count and time.monotonic() - start < hold:
        for key, _ in selector.select(timeout=0.5):
            try:
                data = key.fileobj.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:
                closed_at[key.fileobj] = time.monotonic() - start
                selector.unregister(key.fileobj)
    for s in sockets:
        s.close()
    times = sorted(closed_at.get(s, hold) for s in sockets)
    return len(closed_at), times[len(times) // 2], times[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upload-mb", type=int, default=400, help="size of the hostile bodies")
    parser.add_argument("--slow", type=int, default=100, help="slow-header connections")
    parser.add_argument("--hold", type=float, default=40.0, help="seconds to keep them open")
    args = parser.parse_args()
    port = free_port()
    exe = Path(sys.executable).with_name("aiducation")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(port, server)
        print(f"server pid {server.pid} on port {port}; idle peak/now MiB: "
              "%.0f / %.0f" % peak_rss_mib(server.pid))  # fmt: skip
        size = args.upload_mb * MIB
        for naive in (False, True):
            client = "naive client (sends all, then reads)" if naive else "client reading early"
            for kind, upload in (("declared", declared_upload), ("chunked", chunked_upload)):
                sent, line, seconds = upload(port, size, naive)
                print(f"{kind} {args.upload_mb} MiB body, {client}: sent {sent / MIB:.1f} MiB "
                      f"in {seconds:.1f} s, answer {line!r}; server peak/now MiB: %.0f / %.0f"
                      % peak_rss_mib(server.pid))  # fmt: skip
        if args.slow:
            closed, median, longest = slow_clients(port, args.slow, args.hold)
            print(
                f"{args.slow} slow-header connections: {closed} closed by the server within "
                f"{args.hold:.0f} s (median {median:.1f} s, max {longest:.1f} s)"
            )
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
