"""Host and Origin checks (DNS rebinding, cross-site forms), security headers on every response,
and a clear error page when the server's model cannot be loaded (issue 14)."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd
import pytest
from webworld import BASE_URL, local_client

from aiducation.cli import main
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


def test_all_interfaces_binding_accepts_ip_addresses_but_not_names(stub_analyzer):
    client = local_client(create_app(WebConfig(host="0.0.0.0"), analyzer=stub_analyzer))
    assert client.get("/analyze", headers={"Host": "192.168.1.20:8000"}).status_code == 200
    assert client.get("/analyze", headers={"Host": "[fe80::1]:8000"}).status_code == 200
    assert client.get("/analyze", headers={"Host": "rebound.example:8000"}).status_code == 400
    assert client.get("/analyze", headers={"Host": "0.0.0.0:8001"}).status_code == 400


def test_bound_host_name_is_accepted():
    client = local_client(create_app(WebConfig(host="lab-pc.local", port=9000)))
    assert client.get("/model", headers={"Host": "lab-pc.local:9000"}).status_code == 200
    assert client.get("/model", headers={"Host": "lab-pc.local:8000"}).status_code == 400


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

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    argv = ["serve", "--host", "0.0.0.0", "--port", "8765", "--allow-host", "lab.local"]
    assert main(argv) == 0
    config = calls["app"].state.web.config
    assert (config.host, config.port, config.allowed_hosts) == ("0.0.0.0", 8765, ("lab.local",))
    assert main(["serve", "--allow-host", "bad name:x"]) == 2
    assert "--allow-host" in capsys.readouterr().err


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
