"""Request checks and security headers for the local web app (an ASGI middleware).

* **Host**: every request must name this server: ``127.0.0.1``, ``localhost`` or ``[::1]``
  or the bound ``--host``, on the server's ``--port``, or a name given with
  ``--allow-host``. A page that rebinds its own domain name to 127.0.0.1 (DNS rebinding)
  still sends its own name, and gets HTTP 400 instead of the attribute CSV.
* **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` header is
  present must come from one of those addresses (HTTP 403): another web site the user visits
  cannot plant labels or run analyses. Requests without ``Origin`` (curl, scripts) pass.
* Every response carries a Content-Security-Policy (scripts, styles and fetches from this
  server only; pictures and clips also as ``data:``/``blob:`` URLs; no framing),
  ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # bound to every interface
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # style="" attributes of the tables and charts
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def _authority(value: str, default_port: int | None = None) -> tuple[str, int | None] | None:
    """``(lower-case host name, port)`` of ``name[:port]`` (IPv6 in brackets), or ``None``."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        port = parts.port if parts.port is not None else default_port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return parts.hostname, port


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class AllowedHosts:
    """The ``name:port`` pairs under which a browser may reach this server."""

    port: int  # the server's port
    pairs: frozenset[tuple[str, int]]
    any_ip: bool = False  # bound to all interfaces: any IP address on ``port`` too

    @classmethod
    def for_server(cls, host: str, port: int, extra: Iterable[str] = ()) -> AllowedHosts:
        """Loopback names and ``host`` on ``port``, plus ``extra`` (``name`` or ``name:port``)."""
        bare = host.strip("[]")
        wildcard = bare in WILDCARD_HOSTS
        names = list(extra) if wildcard else [f"[{bare}]" if ":" in bare else bare, *extra]
        pairs = {(name, port) for name in LOOPBACK_NAMES}
        for value in names:
            parsed = _authority(value, port)
            if parsed is None:
                raise ValueError(f"{value!r} is not a host name (or name:port)")
            pairs.add(parsed)
        return cls(port, frozenset(pairs), wildcard)

    def allows(self, name: str, port: int | None) -> bool:
        if (name, port) in self.pairs:
            return True
        return self.any_ip and port == self.port and _is_ip(name)

    def describe(self) -> str:
        shown = sorted(f"[{n}]:{p}" if ":" in n else f"{n}:{p}" for n, p in self.pairs)
        if self.any_ip:
            shown.append(f"any IP address:{self.port}")
        return ", ".join(shown)


Reject = Callable[[dict, int, str], object]  # (scope, status, message) -> ASGI response


class RequestGuard:
    """ASGI middleware: Host and Origin checks (see the module docstring), security headers."""

    def __init__(self, app, allowed: AllowedHosts, reject: Reject) -> None:
        self.app, self.allowed, self.reject = app, allowed, reject

    def problem(self, scope: dict) -> tuple[int, str] | None:
        """``(status, message)`` when the request must be refused, else ``None``."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        parsed = _authority(host, 443 if scope.get("scheme") == "https" else 80)
        if parsed is None or not self.allowed.allows(*parsed):
            return 400, (
                f"Host {host!r} is not an address of this server (allowed: "
                f"{self.allowed.describe()}); open http://127.0.0.1:{self.allowed.port}/ or "
                "start `aiducation serve` with --allow-host NAME"
            )
        origin = headers.get("origin")
        if origin is None or scope.get("method", "GET") in SAFE_METHODS:
            return None
        parts = urlsplit(origin)
        default = 443 if parts.scheme == "https" else 80
        source = _authority(parts.netloc, default) if parts.scheme in ("http", "https") else None
        if source is None or not self.allowed.allows(*source):
            return 403, (
                f"cross-site request refused: a page from {origin!r} cannot send forms to "
                "this app; use the app's own pages"
            )
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        problem = self.problem(scope)
        if problem is not None:
            response = self.reject(scope, *problem)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
