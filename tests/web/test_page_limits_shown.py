"""Issue 32: the Analyse page analyses a video inside the request up to its frame limit, and
says so on the page and in the JSON (the 147-s upload analysed to 114.7 s, silently, before)."""

from __future__ import annotations

import html as markup
import re
from dataclasses import replace

from webworld import local_client

from aiducation.web.app import create_app


def test_a_cut_video_says_how_far_it_was_analysed_and_why(web_config, stub_analyzer, video_bytes):
    client = local_client(create_app(replace(web_config, max_frames=4), analyzer=stub_analyzer))
    files = {"file": ("lesson.mp4", video_bytes, "video/mp4")}
    page = client.post("/analyze", files=files)
    assert page.status_code == 200, page.text[:300]
    note = re.search(r'<p class="warning" id="coverage"[^>]*>(.*?)</p>', page.text, re.S)
    text = " ".join(markup.unescape(re.sub("<[^>]+>", "", note.group(1))).split())
    assert text.startswith("Analysed up to 0.6 s of 2.0 s only: this page analyses at most 4 "
                           "frames of a video (5 a second)")  # fmt: skip
    assert 'href="/jobs/new"' in note.group(1)  # where the whole video can go
    answer = client.post("/api/analyze", files=files).json()
    assert answer["summary"]["coverage"] == {
        "analysed_to_s": 0.6, "duration_s": 2.0, "complete": False,
        "reason": "this page analyses at most 4 frames of a video (5 a second); upload it as "
        "a whole lesson to analyse all of it",
    }  # fmt: skip


def test_a_whole_video_has_no_warning(client, video_bytes):
    files = {"file": ("lesson.mp4", video_bytes, "video/mp4")}
    assert 'id="coverage"' not in client.post("/analyze", files=files).text
    coverage = client.post("/api/analyze", files=files).json()["summary"]["coverage"]
    assert coverage == {"analysed_to_s": 1.8, "duration_s": 2.0, "complete": True, "reason": None}
