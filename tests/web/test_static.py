"""The app's own static assets: the favicon (a bundled SVG, also at /favicon.ico)."""


def test_favicon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")
    assert client.get("/static/favicon.svg").content == icon.content
    page = client.get("/analyze").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
