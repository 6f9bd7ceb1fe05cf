"""Request checks and security headers for the local web app (an ASGI middleware).

* **Host**: every request must name this server: ``127.0.0.1``, ``localhost`` or ``[::1]``
  or the bound ``--host``, on the server's ``--port``, or a name given with
  ``--allow-host``. A page that rebinds its own domain name to 127.0.0.1 (DNS rebinding)
  still sends its own name, and gets HTTP 400 instead of the attribute CSV.
* **Access token** (bound beyond the loopback, or a token configured): every request but the
  package's static assets must carry the server's token, as ``?token=...`` (which also sets
  an HttpOnly, SameSite=Strict cookie, so the pages work after opening the printed address
  once), that cookie, or ``Authorization: Bearer <token>`` (HTTP 401 otherwise).
* **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` header is
  present must be same-origin (the ``Origin`` names the very ``Host`` the request was sent
  to) or name one of the configured addresses (HTTP 403): another web site the user visits,
  another computer's page included, cannot plant labels or run analyses. Requests without
  ``Origin`` (curl, scripts) pass.
* Every response carries a Content-Security-Policy (scripts, styles and fetches from this
  server only; pictures and clips also as ``data:``/``blob:`` URLs; no framing),
  ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # bound to every interface
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PREFIXES = ("/static/",)  # the package's own assets: served without the token
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]{16,256}")  # URL- and cookie-safe
TOKEN_ENV = "AIDUCATION_TOKEN"
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


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this computer (``localhost``, 127.x, ::1)."""
    bare = host.strip().strip("[]").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def check_token(token: str) -> str:
    """``token`` if it can serve as an access token (``ValueError`` otherwise)."""
    if not TOKEN_CHARACTERS.fullmatch(token):
        raise ValueError(
            "an access token needs 16 to 256 characters among letters, digits and - _ . ~"
        )
    return token


@dataclass(frozen=True)
class AccessToken:
    """The secret a request must show when the server is reachable beyond this computer."""

    value: str
    port: int  # names the cookie: cookies are shared by all ports of a host

    def __post_init__(self) -> None:
        check_token(self.value)

    @property
    def cookie_name(self) -> str:
        return f"aiducation_token_{self.port}"

    def matches(self, candidate: str | None) -> bool:
        """Constant-time comparison (:func:`hmac.compare_digest`)."""
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.value.encode())

    def cookie(self, secure: bool) -> bytes:
        """``Set-Cookie`` value: this browser session only, never sent by other sites' pages."""
        flags = "; Secure" if secure else ""
        return f"{self.cookie_name}={self.value}; Path=/; HttpOnly; SameSite=Strict{flags}".encode()

    def shown(self, headers: dict[str, str], query: str) -> tuple[bool, bool]:
        """``(authorised, from the query)`` for a request's headers and query string."""
        from_query = any(self.matches(v) for v in parse_qs(query).get("token", []))
        if from_query:
            return True, True
        scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and self.matches(credentials.strip()):
            return True, False
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name and self.matches(value.strip().strip('"')):
                return True, False
        return False, False


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
        """Whether a ``Host`` header naming ``name:port`` reaches this server."""
        if (name, port) in self.pairs:
            return True
        return self.any_ip and port == self.port and _is_ip(name)

    def allows_origin(self, origin: tuple[str, int | None], host: tuple[str, int | None]) -> bool:
        """Whether a page of ``origin`` may send forms to a request for ``host`` (already
        allowed): same-origin, or a configured name. Bound to all interfaces, any IP address
        passes the Host check, but a page of another IP address is another site."""
        return origin == host or origin in self.pairs

    def describe(self) -> str:
        shown = sorted(f"[{n}]:{p}" if ":" in n else f"{n}:{p}" for n, p in self.pairs)
        if self.any_ip:
            shown.append(f"any IP address:{self.port}")
        return ", ".join(shown)


Reject = Callable[[dict, int, str], object]  # (scope, status, message) -> ASGI response


TOKEN_MISSING = (
    "this server is reachable from the network, so it needs its access token, which is "
    "missing or wrong here: open the address with ?token=... that `aiducation serve` printed "
    f"(or set in {TOKEN_ENV}), or send the header 'Authorization: Bearer <token>'"
)


class RequestGuard:
    """ASGI middleware: Host, access-token and Origin checks (see the module docstring),
    security headers. ``token=None``: no token needed (bound to the loopback)."""

    def __init__(
        self, app, allowed: AllowedHosts, reject: Reject, token: AccessToken | None = None
    ) -> None:
        self.app, self.allowed, self.reject, self.token = app, allowed, reject, token

    def problem(self, scope: dict) -> tuple[int, str] | None:
        """``(status, message)`` when the request must be refused, else ``None``."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        parsed = _authority(host, 443 if scope.get("scheme") in ("https", "wss") else 80)
        if parsed is None or not self.allowed.allows(*parsed):
            return 400, (
                f"Host {host!r} is not an address of this server (allowed: "
                f"{self.allowed.describe()}); open http://127.0.0.1:{self.allowed.port}/ or "
                "start `aiducation serve` with --allow-host NAME"
            )
        if self.token is not None and not self.authorised(scope, headers)[0]:
            return 401, TOKEN_MISSING
        origin = headers.get("origin")
        if origin is None or scope.get("method", "GET") in SAFE_METHODS:
            return None
        parts = urlsplit(origin)
        default = 443 if parts.scheme == "https" else 80
        source = _authority(parts.netloc, default) if parts.scheme in ("http", "https") else None
        if source is None or not self.allowed.allows_origin(source, parsed):
            return 403, (
                f"cross-site request refused: a page from {origin!r} cannot send forms to "
                "this app; use the app's own pages"
            )
        return None

    def authorised(self, scope: dict, headers: dict[str, str]) -> tuple[bool, bool]:
        """``(authorised, token given in the query)``; static assets need no token."""
        if self.token is None or scope.get("path", "").startswith(PUBLIC_PREFIXES):
            return True, False
        return self.token.shown(headers, scope.get("query_string", b"").decode("latin-1"))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and self.problem(scope) is not None:
            await send({"type": "websocket.close", "code": 1008})  # the app has none anyway
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie = None
        if self.token is not None:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            ok, from_query = self.authorised(scope, headers)
            if ok and from_query:  # the printed address: remember the token in a cookie
                set_cookie = self.token.cookie(secure=scope.get("scheme") == "https")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if set_cookie is not None:
                    extra.append((b"set-cookie", set_cookie))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        problem = self.problem(scope)
        if problem is not None:
            response = self.reject(scope, *problem)
            if problem[0] == 401:
                response.headers["www-authenticate"] = 'Bearer realm="aiducation"'
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
