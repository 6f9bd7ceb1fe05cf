"""Host and Origin checks (DNS rebinding, cross-site forms), security headers on every response,
and a clear error page when the server's model cannot be loaded (issue 14)."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd
import pytest
from webworld import BASE_URL, local_client

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.web.app import WebConfig, create_app

EVIL = "http://evil.example"


def error_message(html: str) -> str:
    return unescape(re.search(r'id="error-message">(.*?)</p>', html, re.S).group(1))


@pytest.fixture
def annotate(prepared_dir, tmp_path, stub_analyzer):
    csv = tmp_path / "labels.csv"
    config = WebConfig(annotate_data=str(prepared_dir), annotate_out=str(csv))
    return local_client(create_app(config, analyzer=stub_analyzer)), csv


def next_row(client) -> int:
    return int(re.search(r'name="row" value="(\d+)"', client.get("/annotate").text).group(1))


def test_cross_site_form_cannot_plant_labels(annotate):
    client, csv = annotate
    row = next_row(client)
    form = {"row": row, "value": "female"}
    planted = client.post("/annotate/gender", data=form, headers={"Origin": EVIL})
    assert planted.status_code == 403
    assert "cross-site request refused" in error_message(planted.text)
    assert EVIL in error_message(planted.text)
    assert not csv.exists()
    for origin in ("null", "http://evil.example:8000", "http://127.0.0.1:9999"):
        assert (
            client.post("/annotate/gender", data=form, headers={"Origin": origin}).status_code
            == 403
        )
    own = client.post("/annotate/gender", data=form, headers={"Origin": BASE_URL})
    assert own.status_code == 200  # the redirect back to the page was followed
    assert list(pd.read_csv(csv, dtype=str)["gender"]) == ["female"]


def test_cross_site_uploads_are_refused(client, photo_bytes):
    files = {"file": ("a.jpg", photo_bytes, "image/jpeg")}
    page = client.post("/analyze", files=files, headers={"Origin": EVIL})
    assert page.status_code == 403 and "cross-site" in error_message(page.text)
    api = client.post("/api/analyze", files=files, headers={"Origin": EVIL})
    assert api.status_code == 403 and "cross-site request refused" in api.json()["error"]
    demo = client.post("/analyze/demo", headers={"Origin": EVIL})
    assert demo.status_code == 403
    same = client.post("/api/analyze", files=files, headers={"Origin": "http://localhost:8000"})
    assert same.status_code == 200  # localhost and 127.0.0.1 are both this server


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1:9999", ""])
def test_dns_rebinding_cannot_read_the_attribute_csv(annotate, host):
    client, _ = annotate
    client.post("/annotate/gender", data={"row": next_row(client), "value": "male"})
    assert client.get("/annotate/attributes.csv").status_code == 200
    stolen = client.get("/annotate/attributes.csv", headers={"Host": host})
    assert stolen.status_code == 400
    assert "male" not in stolen.text
    message = error_message(stolen.text)
    assert f"Host {host!r} is not an address of this server" in message
    assert "open http://127.0.0.1:8000/" in message and "--allow-host" in message


def test_loopback_names_and_configured_names_are_accepted(stub_analyzer):
    config = WebConfig(port=8123, allowed_hosts=("classroom.local", "proxy.example:443"))
    client = local_client(create_app(config, analyzer=stub_analyzer))
    for host in ("127.0.0.1:8123", "localhost:8123", "[::1]:8123", "CLASSROOM.local:8123"):
        assert client.get("/analyze", headers={"Host": host}).status_code == 200, host
    assert client.get("/analyze", headers={"Host": "proxy.example:443"}).status_code == 200
    for host in ("127.0.0.1:8000", "classroom.local:443", "proxy.example:8123"):
        assert client.get("/analyze", headers={"Host": host}).status_code == 400, host


TOKEN = "test-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_all_interfaces_binding_accepts_ip_addresses_but_not_names(stub_analyzer):
    config = WebConfig(host="0.0.0.0", token=TOKEN)
    client = local_client(create_app(config, analyzer=stub_analyzer))
    client.headers.update(BEARER)
    assert client.get("/analyze", headers={"Host": "192.168.1.20:8000"}).status_code == 200
    assert client.get("/analyze", headers={"Host": "[fe80::1]:8000"}).status_code == 200
    assert client.get("/analyze", headers={"Host": "rebound.example:8000"}).status_code == 400
    assert client.get("/analyze", headers={"Host": "0.0.0.0:8001"}).status_code == 400


def test_bound_host_name_is_accepted():
    client = local_client(create_app(WebConfig(host="lab-pc.local", port=9000, token=TOKEN)))
    client.headers.update(BEARER)
    assert client.get("/model", headers={"Host": "lab-pc.local:9000"}).status_code == 200
    assert client.get("/model", headers={"Host": "lab-pc.local:8000"}).status_code == 400


def test_a_page_of_another_ip_address_cannot_post_when_bound_to_all_interfaces(
    stub_analyzer, photo_bytes
):
    """Issue 34: bound to 0.0.0.0, any IP address passed the Origin check too, so a page served
    by another computer on the network (same port) could run analyses or plant labels."""
    client = local_client(
        create_app(WebConfig(host="0.0.0.0", token=TOKEN), analyzer=stub_analyzer)
    )
    client.headers.update(BEARER)
    files = {"file": ("a.jpg", photo_bytes, "image/jpeg")}
    here = {"Host": "192.168.1.5:8000"}
    foreign = client.post(
        "/api/analyze", files=files, headers={**here, "Origin": "http://10.0.0.9:8000"}
    )
    assert foreign.status_code == 403
    assert "cross-site request refused" in foreign.json()["error"]
    assert "http://10.0.0.9:8000" in foreign.json()["error"]
    other_port = client.post(
        "/api/analyze", files=files, headers={**here, "Origin": "http://192.168.1.5:9000"}
    )
    assert other_port.status_code == 403
    reversed_ = client.post(
        "/api/analyze",
        files=files,
        headers={"Host": "10.0.0.9:8000", "Origin": "http://192.168.1.5:8000"},
    )
    assert reversed_.status_code == 403
    same_origin = client.post(
        "/api/analyze", files=files, headers={**here, "Origin": "http://192.168.1.5:8000"}
    )
    assert same_origin.status_code == 200  # a browser on the page it was served
    loopback = client.post(
        "/api/analyze", files=files, headers={**here, "Origin": "http://127.0.0.1:8000"}
    )
    assert loopback.status_code == 200  # a configured name of this server
    ipv6 = client.post(
        "/api/analyze",
        files=files,
        headers={"Host": "[fe80::1]:8000", "Origin": "http://[fe80::1]:8000"},
    )
    assert ipv6.status_code == 200


def test_origin_of_a_configured_name_passes_for_another_host_name(stub_analyzer, photo_bytes):
    config = WebConfig(host="0.0.0.0", token=TOKEN, allowed_hosts=("classroom.local",))
    client = local_client(create_app(config, analyzer=stub_analyzer))
    client.headers.update(BEARER)
    files = {"file": ("a.jpg", photo_bytes, "image/jpeg")}
    headers = {"Host": "192.168.1.5:8000", "Origin": "http://classroom.local:8000"}
    assert client.post("/api/analyze", files=files, headers=headers).status_code == 200


def test_beyond_the_loopback_every_request_needs_the_token(stub_analyzer):
    """Issue 34: bound to the network, anyone there could read the attribute CSV."""
    app = create_app(WebConfig(host="0.0.0.0"), analyzer=stub_analyzer)
    token = app.state.web.token
    assert token and len(token) >= 32  # a random one when none is configured
    assert create_app(WebConfig(host="0.0.0.0")).state.web.token != token
    client = local_client(app)
    for path in ("/analyze", "/experiments", "/model", "/annotate", "/annotate/attributes.csv"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert "needs its access token" in error_message(refused.text)
        assert "?token=" in error_message(refused.text) and "Bearer" in error_message(refused.text)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "set-cookie" not in refused.headers
    api = client.post("/api/analyze", files={"file": ("a.jpg", b"x")})
    assert api.status_code == 401 and "access token" in api.json()["error"]
    assert client.get("/static/style.css").status_code == 200  # the package's own assets


def test_token_in_the_address_sets_a_strict_cookie_for_the_next_pages(stub_analyzer):
    client = local_client(
        create_app(WebConfig(host="0.0.0.0", token=TOKEN), analyzer=stub_analyzer)
    )
    first = client.get(f"/?token={TOKEN}", follow_redirects=False)  # the printed address
    assert first.status_code == 302
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"aiducation_token_8000={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    for path in ("/analyze", "/experiments", "/model"):
        assert client.get(path).status_code == 200, path  # the cookie alone now
    assert "set-cookie" not in client.get("/analyze").headers
    client.cookies.clear()
    assert client.get("/analyze").status_code == 401


def test_bearer_token_works_and_wrong_tokens_are_refused(stub_analyzer, photo_bytes, monkeypatch):
    import hmac

    from aiducation.web import security

    compared, original = [], hmac.compare_digest
    monkeypatch.setattr(
        security.hmac,
        "compare_digest",
        lambda a, b: compared.append((a, b)) or original(a, b),
    )
    client = local_client(
        create_app(WebConfig(host="0.0.0.0", token=TOKEN), analyzer=stub_analyzer)
    )
    files = {"file": ("a.jpg", photo_bytes, "image/jpeg")}
    assert client.post("/api/analyze", files=files, headers=BEARER).status_code == 200
    assert client.get("/analyze", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert compared and all(b == TOKEN.encode() for _, b in compared)
    wrong = TOKEN[:-1] + "X"
    for headers in (
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Cookie": f"aiducation_token_8000={wrong}"},
        {"Cookie": f"aiducation_token_9000={TOKEN}"},  # another server's cookie
    ):
        assert client.get("/analyze", headers=headers).status_code == 401, headers
    refused = client.get(f"/analyze?token={wrong}")
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    assert (
        client.post(
            "/api/analyze", files=files, headers={"Authorization": "Bearer ü".encode("latin-1")}
        ).status_code
        == 401
    )


def test_loopback_needs_no_token_unless_one_is_configured(stub_analyzer):
    for host in ("127.0.0.1", "localhost", "::1"):
        app = create_app(WebConfig(host=host), analyzer=stub_analyzer)
        assert app.state.web.token is None
    client = local_client(create_app(WebConfig(), analyzer=stub_analyzer))
    response = client.get("/analyze")
    assert response.status_code == 200 and "set-cookie" not in response.headers
    fixed = local_client(create_app(WebConfig(token=TOKEN), analyzer=stub_analyzer))
    assert fixed.get("/analyze").status_code == 401
    assert fixed.get("/analyze", headers=BEARER).status_code == 200
    with pytest.raises(InputError, match="access token"):
        create_app(WebConfig(host="0.0.0.0", token="short"))


def test_security_headers_on_every_response(client, photo_bytes):
    responses = [
        client.get("/analyze"),
        client.get("/static/style.css"),
        client.get("/no/such/page"),
        client.post("/api/analyze", files={"file": ("a.jpg", photo_bytes)}),
        client.post("/analyze", files={"file": ("x.jpg", b"text")}),
        client.get("/analyze", headers={"Host": "evil.example"}),
        client.post("/analyze", headers={"Origin": EVIL}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 200, 415, 400, 403]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_pages_need_no_inline_script(client, photo_bytes):
    """The policy allows scripts from this server only: no inline handlers or javascript: links."""
    pages = [
        client.get("/analyze").text,
        client.post("/analyze", files={"file": ("a.jpg", photo_bytes)}).text,
        client.post("/analyze", files={"file": ("x.jpg", b"text")}).text,
    ]
    for html in pages:
        assert not re.search(r"\son\w+=|javascript:|<script>", html)
        assert '<script src="/static/page.js" defer></script>' in html
    assert client.get("/static/page.js").status_code == 200


def test_serve_passes_host_port_and_allowed_names(monkeypatch, capsys):
    import uvicorn

    from aiducation.web.server import HeadTimeoutH11Protocol

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    monkeypatch.delenv("AIDUCATION_TOKEN", raising=False)
    argv = ["serve", "--host", "0.0.0.0", "--port", "8765", "--allow-host", "lab.local"]
    assert main(argv) == 0
    config = calls["app"].state.web.config
    assert (config.host, config.port, config.allowed_hosts) == ("0.0.0.0", 8765, ("lab.local",))
    assert calls["http"] is HeadTimeoutH11Protocol and calls["limit_concurrency"] > 0
    assert calls["timeout_keep_alive"] > 0 and calls["h11_max_incomplete_event_size"] > 0
    out = capsys.readouterr().out
    token = calls["app"].state.web.token
    assert "warning: binding 0.0.0.0" in out
    assert f"http://127.0.0.1:8765/?token={token}" in out  # printed, as Jupyter does
    assert main(["serve", "--allow-host", "bad name:x"]) == 2
    assert "--allow-host" in capsys.readouterr().err


def test_serve_takes_the_token_from_the_environment(monkeypatch, capsys):
    import uvicorn

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    monkeypatch.setenv("AIDUCATION_TOKEN", TOKEN)
    assert main(["serve", "--host", "192.168.1.5", "--port", "8766"]) == 0
    assert calls["app"].state.web.token == TOKEN
    out = capsys.readouterr().out
    assert TOKEN not in out  # not echoed into logs
    assert "http://192.168.1.5:8766/?token=<the value of AIDUCATION_TOKEN>" in out
    client = local_client(calls["app"])
    assert client.get("/model", headers={"Host": "192.168.1.5:8766", **BEARER}).status_code == 200
    monkeypatch.setenv("AIDUCATION_TOKEN", "too short")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "AIDUCATION_TOKEN" in capsys.readouterr().err


def test_loopback_serve_prints_no_token(monkeypatch, capsys):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.delenv("AIDUCATION_TOKEN", raising=False)
    assert main(["serve", "--port", "8767"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8767/" in out and "token" not in out and "warning" not in out


def test_unloadable_model_gives_a_clear_error_page(checkpoint_dir, tmp_path, photo_bytes):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(checkpoint_dir, broken)
    (broken / "model.safetensors").write_bytes(b"garbage")  # a bare HTTP 500 before
    client = local_client(create_app(WebConfig(model=str(broken))))
    page = client.post("/analyze", files={"file": ("a.jpg", photo_bytes)})
    assert page.status_code == 503
    message = error_message(page.text)
    assert "the server's model cannot be loaded" in message and str(broken) in message
    assert "--checkpoint" in message
    api = client.post("/api/analyze", files={"file": ("a.jpg", photo_bytes)})
    assert api.status_code == 503 and "cannot be loaded" in api.json()["error"]
