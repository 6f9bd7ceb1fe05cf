"""Analyse page and JSON API through FastAPI's test client: results, switches, bad uploads,
upload limits and that nothing is left on the server."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from webworld import encode, local_client, scene

from aiducation.web.app import WebConfig, create_app
from aiducation.web.uploads import check_upload, sniff_kind


def data_urls(html: str, prefix: str) -> list[bytes]:
    return [
        base64.b64decode(m)
        for m in re.findall(rf'"data:{re.escape(prefix)}[^;]*;base64,([A-Za-z0-9+/=]+)"', html)
    ]


def error_message(html: str) -> str:
    return re.search(r'id="error-message">(.*?)</p>', html, re.S).group(1)


def post(client: TestClient, data: bytes, name: str = "class.jpg", **form) -> object:
    return client.post("/analyze", files={"file": (name, data, "image/jpeg")}, data=form)


def test_photo_result_shows_annotated_picture_chart_and_downloads(client, photo_bytes):
    response = post(client, photo_bytes)
    assert response.status_code == 200
    html = response.text
    assert re.search(r'id="faces-seen">2<', html)
    bars = dict(re.findall(r'data-state="(\w+)" x="\d+" y="\d+" width="([\d.]+)"', html))
    assert float(bars["Angry"]) == float(bars["Bored"]) > 0 == float(bars["Focused"])
    (picture,) = data_urls(html, "image/jpeg")
    image = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    table = pd.read_csv(io.BytesIO(data_urls(html, "text/csv")[0]))
    assert sorted(table["state"]) == ["Angry", "Bored"]
    assert set(table["source"]) == {"class.jpg"}
    payload = json.loads(data_urls(html, "application/json")[0])
    assert payload["summary"]["state_counts"] == {
        "Angry": 1,
        "Bored": 1,
        "Focused": 0,
        "Neutral": 0,
    }
    assert len(payload["faces"]) == 2


def test_aggregate_only_shows_shares_but_no_face_data(client, photo_bytes):
    html = post(client, photo_bytes, aggregate_only="true").text
    assert "aggregate only" in html
    assert data_urls(html, "image/jpeg") == []
    assert 'id="faces"' not in html
    payload = json.loads(data_urls(html, "application/json")[0])
    assert payload["faces"] is None and payload["summary"]["faces_seen"] == 2
    table = pd.read_csv(io.BytesIO(data_urls(html, "text/csv")[0]))
    assert "x" not in table.columns and table.loc[0, "Angry"] == 1
    # a photo has no timeline: its CSV is named for what it holds, the photo's state counts
    names = re.findall(r'download="([^"]+)" class="download"', html)
    assert names == ["class_counts.csv", "class.json"] and len(table) == 1


def test_blur_hides_the_faces_in_the_annotated_picture(client):
    image = scene([(200, 120, 72, 72, 40)])
    image[120:192:8, 200:272] = 70  # stripes: detail the blur must remove
    photo = encode(image, ".png")

    def face_detail(html: str) -> float:
        (picture,) = data_urls(html, "image/jpeg")
        shown = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_GRAYSCALE)
        patch = shown[140:185, 210:262].astype(float)  # inside the face, off the labels
        return float(np.abs(patch - cv2.GaussianBlur(patch, (0, 0), 1.5)).mean())  # fine detail

    plain, blurred = post(client, photo).text, post(client, photo, blur="true").text
    assert "faces blurred" in blurred
    assert face_detail(plain) > 3 > 3 * face_detail(blurred)


def test_video_result_has_timeline_frames_and_tracks(client, video_bytes, web_config, tmp_path):
    response = client.post("/analyze", files={"file": ("lesson.mp4", video_bytes, "video/mp4")})
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert 'id="timeline-chart"' in html
    (timeline,) = data_urls(html.split('id="timeline"')[1], "image/png")  # after: no thumbnails
    assert timeline.startswith(b"\x89PNG")
    assert len(data_urls(html, "image/png")) == 1 + 2  # the timeline and 2 students' faces
    assert 1 <= len(data_urls(html, "image/jpeg")) <= 6
    payload = json.loads(data_urls(html, "application/json")[0])
    assert payload["kind"] == "video" and payload["summary"]["frames"] == 10  # 5 of 10 fps
    assert payload["summary"]["students"] == 2
    (clip,) = data_urls(html, "video/webm")
    assert clip.startswith(b"\x1a\x45\xdf\xa3")  # WebM, playable in browsers
    clip_path = tmp_path / "clip.webm"
    clip_path.write_bytes(clip)
    capture = cv2.VideoCapture(str(clip_path))
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 10  # one annotated frame per analysed frame
    assert list(Path(web_config.tmp_dir).iterdir()) == []  # the temporary video is gone


def test_video_aggregate_only_has_timeline_but_no_pictures(client, video_bytes):
    html = client.post(
        "/analyze", files={"file": ("lesson.mp4", video_bytes)}, data={"aggregate_only": "true"}
    ).text
    assert 'id="timeline-chart"' in html
    assert data_urls(html, "video/webm") == [] and data_urls(html, "image/jpeg") == []
    names = re.findall(r'download="([^"]+)" class="download"', html)
    assert names == ["lesson_timeline.csv", "lesson.json"]


def test_api_returns_json(client, photo_bytes):
    response = client.post("/api/analyze", files={"file": ("cam.jpg", photo_bytes)})
    assert response.status_code == 200
    body = response.json()
    assert body["summary"]["faces_seen"] == 2
    assert {f["state"] for f in body["faces"]} == {"Angry", "Bored"}


def test_api_tracks_the_faces_of_successive_frames_with_state_the_client_carries(
    client, photo_bytes
):
    first = client.post("/api/analyze", files={"file": ("cam.jpg", photo_bytes)},
                        data={"tracks": "{}"}).json()  # fmt: skip
    assert [f["track_id"] for f in first["faces"]] == [0, 1]
    assert first["tracks"]["next_id"] == 2 and len(first["tracks"]["tracks"]) == 2
    second = client.post("/api/analyze", files={"file": ("cam.jpg", photo_bytes)},
                         data={"tracks": json.dumps(first["tracks"])}).json()  # fmt: skip
    assert [f["track_id"] for f in second["faces"]] == [0, 1]  # the same two students
    plain = client.post("/api/analyze", files={"file": ("cam.jpg", photo_bytes)}).json()
    assert "tracks" not in plain and "track_id" not in plain["faces"][0]


@pytest.mark.parametrize(
    ("tracks", "form", "words"),
    [
        ("{not json", {}, "tracks: not JSON"),
        ('{"tracks": [{"id": 0}]}', {}, "tracks[0]: expected id, box"),
        ("{}", {"aggregate_only": "true"}, "not tracked when aggregate only"),
        # issue 34: a deeply nested document exhausted the JSON parser's recursion (HTTP 500)
        ("[" * 100_000 + "]" * 100_000, {}, "tracks: nested more than 8 levels deep"),
        ('{"a":' * 20_000 + "1" + "}" * 20_000, {}, "tracks: nested more than 8 levels deep"),
        ('{"tracks": [' + "{}, " * 70_000 + "{}]}", {}, "more than the 262,144 that"),
    ],
)
def test_api_refuses_bad_tracks_naming_the_field(client, photo_bytes, tracks, form, words):
    response = client.post("/api/analyze", files={"file": ("cam.jpg", photo_bytes)},
                           data={"tracks": tracks, **form})  # fmt: skip
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_json_depth_counts_brackets_outside_strings():
    from aiducation.web.analyze_page import json_depth, parse_tracks

    assert json_depth("{}") == 1 and json_depth("") == 0
    assert json_depth('{"tracks": [{"box": [1, 2, 3, 4]}]}') == 4
    assert json_depth('{"note": "[[[[[[[[[[[[\\"[[[[{{{{"}') == 1
    tracker = parse_tracks('{"next_id": 1, "note": "[[[[[[[[[[[[[[[[", "tracks": []}', False)
    assert tracker.to_state()["next_id"] == 1


def test_api_refuses_tracks_for_a_video(client, video_bytes):
    response = client.post("/api/analyze", files={"file": ("lesson.mp4", video_bytes)},
                           data={"tracks": "{}"})  # fmt: skip
    assert response.status_code == 400 and "not videos" in response.json()["error"]


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.jpg", b"just some text, not a picture", 415, "not a supported image or video"),
        ("empty.png", b"", 400, "the file is empty"),
        ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, 400, "damaged"),
        ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, 400, "video"),
    ],
)
def test_bad_uploads_get_a_clear_error_page(client, name, data, status, words):
    response = post(client, data, name)
    assert response.status_code == status
    message = error_message(response.text)
    assert name in message and words in message
    api = client.post("/api/analyze", files={"file": (name, data)})
    assert api.status_code == status and name in api.json()["error"]


def test_upload_over_the_limit_is_refused(client):
    big = b"\xff\xd8\xff" + bytes(int(1.2 * 2**20))
    response = post(client, big)
    assert response.status_code == 413
    assert "limit is 1 MiB" in error_message(response.text)


def test_size_check_counts_bytes_not_headers():
    with pytest.raises(Exception, match="larger than the 1 MiB"):
        check_upload("x.jpg", b"\xff\xd8\xff" + bytes(2**20), 2**20)
    assert check_upload("x.jpg", b"\xff\xd8\xff" + bytes(100), 2**20).kind == "jpeg"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"GIF89a", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"BM" + bytes(20), "bmp"),
        (b"\x00\x00\x00\x20ftypisom", "mp4"),
        (b"\x1a\x45\xdf\xa3\x01", "webm"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"%PDF-1.7", None),
        (b"<svg xmlns=", None),
    ],
)
def test_sniff_kind(head, kind):
    assert sniff_kind(head) == kind


def test_nothing_is_stored_after_analysis(client, web_config, photo_bytes, video_bytes, tmp_path):
    before = sorted(p for p in tmp_path.rglob("*"))
    post(client, photo_bytes)
    client.post("/analyze", files={"file": ("v.mp4", video_bytes)})
    post(client, b"\x00\x00\x00\x18ftypmp42" + bytes(100), "bad.mp4")
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_real_pipeline_on_the_bundled_demo_photo(web_config):
    """YuNet + a real (untrained) checkpoint through the web app: faces found and classified."""
    from aiducation.inference.pipeline import demo_image_path

    client = local_client(create_app(WebConfig(**{**web_config.__dict__, "max_upload_mb": 10})))
    response = client.post(
        "/api/analyze", files={"file": ("demo.jpg", demo_image_path().read_bytes())}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["summary"]["faces_seen"] >= 10
    probabilities = [[f[f"p_{c}"] for c in body["classes"]] for f in body["faces"]]
    assert np.allclose(np.sum(probabilities, axis=1), 1, atol=1e-3)


def test_pages_and_not_found(client):
    page = client.get("/analyze")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert client.get("/").url.path == "/analyze"
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "not found" in error_message(missing.text)
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/analyze.js").status_code == 200


def test_demo_photo_button_analyses_the_bundled_photo(client):
    response = client.post("/analyze/demo", data={"aggregate_only": "true"})
    assert response.status_code == 200
    assert "Result: classroom_19faces.jpg" in response.text
    assert "AI Act" in response.text  # the use notice of `aiducation analyze`


def test_upload_without_content_length_is_cut_off_at_the_limit(client):
    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=file; filename=a.jpg\r\n\r\n"
        for _ in range(40):
            yield b"\xff" * 2**16  # 2.5 MiB in total, over the 1 MiB limit

    response = client.post(
        "/analyze", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize("name", [r"$\foo$.mp4", r"lesson_$x_$.mp4", r"$\frac{1}{2}$.mp4"])
def test_video_named_like_mathtext_gets_its_timeline(client, video_bytes, name):
    """Issue 34: the file name goes into the timeline's title; mathtext broke it (HTTP 500)."""
    response = client.post("/api/analyze", files={"file": (name, video_bytes)})
    assert response.status_code == 200 and response.json()["source"] == name
    page = client.post("/analyze", files={"file": (name, video_bytes)})
    assert page.status_code == 200 and 'id="timeline"' in page.text


@pytest.mark.parametrize("size", [(2, 60_000), (60_000, 2), (3, 400)])
def test_extremely_narrow_pictures_are_refused_not_an_error(client, size):
    """Issue 34: a 60000×2 PNG (a small file, few pixels) gave HTTP 500: shrunk for face
    detection and for the annotated picture it had no rows left."""
    height, width = size
    data = encode(np.full((height, width, 3), 128, np.uint8), ".png")
    response = client.post("/api/analyze", files={"file": ("strip.png", data)})
    assert response.status_code == 400
    message = response.json()["error"]
    assert "strip.png" in message and f"{width}×{height}" in message
    assert "times the other" in message
    page = post(client, data, "strip.png")
    assert page.status_code == 400 and "times the other" in error_message(page.text)


def test_narrow_picture_with_the_real_detector(web_config):
    """The same through YuNet (its resize failed first), and a 100:1 strip still passes."""
    from tests.stubs import CLASSES, BrightnessModel

    from aiducation.inference.api import Analyzer
    from aiducation.inference.classifier import FaceClassifier
    from aiducation.inference.detectors import create_detector

    analyzer = Analyzer(create_detector("yunet"), FaceClassifier(BrightnessModel(), CLASSES))
    client = local_client(create_app(web_config, analyzer=analyzer))
    strip = encode(np.full((2, 60_000, 3), 128, np.uint8), ".png")
    assert client.post("/api/analyze", files={"file": ("s.png", strip)}).status_code == 400
    wide = encode(np.full((20, 2000, 3), 128, np.uint8), ".png")
    response = client.post("/api/analyze", files={"file": ("w.png", wide)})
    assert response.status_code == 200 and response.json()["summary"]["faces_seen"] == 0


def test_missing_file_or_bad_fields_get_an_error_page(client, photo_bytes):
    response = client.post("/analyze", data={"blur": "true"})
    assert response.status_code == 400 and "file: field required" in error_message(response.text)
    api = client.post("/api/analyze", files={"file": ("a.jpg", photo_bytes)}, data={"blur": "x"})
    assert api.status_code == 400 and "blur" in api.json()["error"]


def test_real_video_through_the_web_app(shared_data, web_config):
    """A real classroom-like clip with YuNet: faces found, tracked, timeline and clip returned."""
    video = shared_data / "media" / "walking_pause_3faces.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    settings = {**web_config.__dict__, "max_upload_mb": 10, "video_fps": 2.0}
    client = local_client(create_app(WebConfig(**settings)))
    response = client.post("/analyze", files={"file": (video.name, video.read_bytes())})
    assert response.status_code == 200, response.text[:300]
    payload = json.loads(data_urls(response.text, "application/json")[0])
    assert payload["summary"]["faces_seen"] > 0 and payload["summary"]["students"] >= 1
    assert len(data_urls(response.text, "video/webm")) == 1
    assert list(Path(web_config.tmp_dir).iterdir()) == []


def test_decompression_bomb_is_refused_before_decoding(client):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # 100 MP in a few KiB
    assert len(buffer.getvalue()) < 2**20
    response = post(client, buffer.getvalue(), "huge.png")
    assert response.status_code == 400
    assert "10000×10000 pixels is too large" in error_message(response.text)


def test_pixel_cap_is_one_setting_for_pictures_and_video_frames(
    web_config, stub_analyzer, photo_bytes, video_bytes
):
    """A 2.6 MB AVI of 12000×12000 frames took 2 GB: frame sizes are checked before reading."""
    config = WebConfig(**{**web_config.__dict__, "max_pixels": 50_000})  # 0.05 MP
    client = local_client(create_app(config, analyzer=stub_analyzer))
    video = post(client, video_bytes, "lesson.mp4")
    assert video.status_code == 400
    assert error_message(video.text).startswith(
        "lesson.mp4: video frame of 320×240 pixels is too large (at most 0.05 megapixels"
    )
    photo = client.post("/api/analyze", files={"file": ("class.jpg", photo_bytes)})
    assert photo.status_code == 400 and "320×240 pixels is too large" in photo.json()["error"]
    small = post(client, encode(scene([(30, 40, 70, 70, 230)], size=(200, 200))), "small.jpg")
    assert small.status_code == 200
    assert list(Path(web_config.tmp_dir).iterdir()) == []


def test_other_is_its_own_share_with_its_expression(web_config, photo_bytes):
    from tests.stubs import stub_other_analyzer

    client = local_client(create_app(web_config, analyzer=stub_other_analyzer()))
    html = post(client, photo_bytes).text
    bars = dict(re.findall(r'data-state="(\w+)" x="\d+" y="\d+" width="([\d.]+)"', html))
    assert float(bars["Angry"]) == float(bars["Other"]) > 0 == float(bars["Bored"])
    assert 'id="other-hint"' in html and '<td class="expression">happiness</td>' in html
    table = pd.read_csv(io.BytesIO(data_urls(html, "text/csv")[0]))
    assert sorted(table["state"]) == ["Angry", "Other"]
    assert {"expression", "in_scheme", "p_Other"} <= set(table.columns)


def test_video_result_has_a_students_table_legend_and_download(client, video_bytes):
    html = client.post("/analyze", files={"file": ("lesson.mp4", video_bytes)}).text
    table = html.split('id="students-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # header + 2 students (bright all along, dark from 1 s)
    assert 'alt="face of student 1"' in table  # thumbnails: faces are not blurred
    assert 'id="legend"' in html and "neutral face with no sadness or anger at all" in html
    payload = json.loads(data_urls(html, "application/json")[0])
    assert [s["dominant_state"] for s in payload["students"]] == ["Angry", "Bored"]
    assert payload["students"][0]["seconds_on_screen"] == 2.0
    assert "thumbnail" not in payload["students"][0]
    students_csv = data_urls(html, "text/csv")[1].decode()
    assert students_csv.splitlines()[0].startswith("source,student,track,frames,usable_frames,")
    assert "share_Angry_low,share_Angry_high,longest_Angry_s" in students_csv.splitlines()[0]
    blurred = client.post("/analyze", files={"file": ("lesson.mp4", video_bytes)},
                          data={"blur": "true"}).text  # fmt: skip
    assert 'id="students-table"' in blurred and "face of student" not in blurred
    hidden = client.post("/analyze", files={"file": ("lesson.mp4", video_bytes)},
                         data={"aggregate_only": "true"}).text  # fmt: skip
    assert 'id="students"' not in hidden
    assert json.loads(data_urls(hidden, "application/json")[0])["students"] is None


def test_analyze_page_explains_the_states(client):
    html = client.get("/analyze").text
    assert html.count("<dt data-state=") == 6 and "smiling, surprised or fearful" in html
    assert "too small, blurred or turned away" in html  # Uncertain explained too


def test_analyse_page_names_the_four_states_and_other(client):
    html = " ".join(client.get("/analyze").text.split())
    intro = html.split("<h1>", 1)[1].split("</p>", 1)[0]
    for state in ("Angry", "Bored", "Focused", "Neutral", "Other"):
        assert state in intro, state


def test_webcam_overlay_uses_the_colours_of_the_annotated_pictures(client):
    from aiducation.inference.draw import STATE_COLOURS
    from aiducation.web.charts import state_colour

    script = client.get("/static/analyze.js").text
    table = script.split("COLOURS = {")[1].split("}")[0]
    colours = dict(re.findall(r'(\w+): "(#[0-9a-f]{6})"', table))
    assert colours == {state: state_colour(state) for state in STATE_COLOURS}
