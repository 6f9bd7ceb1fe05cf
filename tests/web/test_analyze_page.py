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
import torch
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
    line = " ".join(
        re.sub(
            r"</?span[^>]*>", "", re.search(r'id="uncertain">(.*?)</p>', html, re.S).group(1)
        ).split()
    )
    assert line.endswith("none. Shares are of the 2 faces answered.")


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
    assert 'id="timeline-chart"' in html and 'id="minutes-chart"' in html
    for section in ("timeline", "minutes"):
        (chart,) = data_urls(html.split(f'id="{section}"')[1].split("</section>")[0], "image/png")
        assert chart.startswith(b"\x89PNG")
    assert len(data_urls(html, "image/png")) == 2 + 2  # the two charts and 2 students' faces
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
    assert 'id="minutes-chart"' in html  # the per-minute class timeline is aggregate too
    names = re.findall(r'download="([^"]+)" class="download"', html)
    assert names == ["lesson_timeline.csv", "lesson_minutes.csv", "lesson.json"]


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
    assert page.status_code == 200 and 'id="timeline"' in page.text and 'id="minutes"' in page.text


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
    assert table.count("<tr") == 3  # header + 2 students (bright all along, dark from 1 s)
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
    assert "too small, blurred, too dark or turned away" in html  # Uncertain explained too


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


# --- issue 31: the webcam's answers over time, Uncertain faces, the per-minute timeline ---


class MildBrightness(torch.nn.Module):
    """Bright crops Angry, dark ones Bored, about 0.9 sure, as a real classifier often is
    (the shared stub is 1.0 sure, which no smoothing should overrule)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3))
        return torch.stack([mean, 1 - mean, 0 * mean, 0 * mean], dim=1) * 4


def mild_client(web_config: WebConfig, gate=None) -> TestClient:
    from tests.stubs import CLASSES, BlobDetector

    from aiducation.inference.api import Analyzer
    from aiducation.inference.classifier import FaceClassifier

    analyzer = Analyzer(BlobDetector(), FaceClassifier(MildBrightness(), CLASSES), gate=gate)
    return local_client(create_app(web_config, analyzer=analyzer))


def small_faces_gate():
    """The quality gate with only its size rule, at 50 px: a 30-px face is "too small"."""
    from aiducation.inference.quality import QualityGate

    return QualityGate(min_size=50, min_sharpness=None, max_yaw=None, max_pitch=None,
                       min_score=None, min_contrast=None)  # fmt: skip


def webcam(
    client: TestClient, pictures: list[np.ndarray], start: float = 0.0, tracks=None, step=1.0
):
    """Send ``pictures`` as the webcam page does, one every ``step`` seconds, carrying
    ``tracks``."""
    answers, tracks = [], tracks or {}
    for i, picture in enumerate(pictures):
        form = {"tracks": json.dumps(tracks), "time": f"{start + i * step:.3f}"}
        response = client.post(
            "/api/analyze", files={"file": ("w.jpg", encode(picture))}, data=form
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
        tracks = answers[-1]["tracks"]
    return answers


def one_face(value: int) -> np.ndarray:
    return scene([(30, 40, 70, 70, value)])


def test_a_webcam_face_whose_answer_flips_once_keeps_its_smoothed_state(web_config):
    """Issue 31: one odd frame among a student's frames, two a second, does not change the
    answer (the live dwell is 2 s; at one frame a second a single confident odd frame may);
    its own answer stays in ``frame_state``; a real change shows within two frames (1 s)."""
    client = mild_client(web_config)
    flips = webcam(client, [one_face(v) for v in [230] * 4 + [40] + [230] * 3], step=0.5)
    faces = [answer["faces"][0] for answer in flips]
    assert [f["frame_state"] for f in faces] == ["Angry"] * 4 + ["Bored"] + ["Angry"] * 3
    assert [f["state"] for f in faces] == ["Angry"] * 8  # constant
    assert {f["track_id"] for f in faces} == {0}
    assert [a["summary"]["state_counts"]["Angry"] for a in flips] == [1] * 8  # smoothed counts
    assert faces[4]["confidence"] < faces[3]["confidence"]  # less sure after the odd frame
    (track,) = flips[-1]["tracks"]["tracks"]
    assert track["time"] == 3.5 and set(track["posterior"]) == {"states"}
    assert track["posterior"]["states"][0] > 0.9
    change = webcam(client, [one_face(40)] * 4, start=4.0, tracks=flips[-1]["tracks"], step=0.5)
    assert [a["faces"][0]["state"] for a in change] == ["Angry", "Bored", "Bored", "Bored"]


def test_webcam_frames_without_time_are_tracked_not_smoothed(web_config):
    client = mild_client(web_config)
    tracks = {}
    for value in (230, 40):
        answer = client.post("/api/analyze", files={"file": ("w.jpg", encode(one_face(value)))},
                             data={"tracks": json.dumps(tracks)}).json()  # fmt: skip
        tracks = answer["tracks"]
    assert answer["faces"][0]["state"] == "Bored" and answer["faces"][0]["track_id"] == 0
    assert "posterior" not in tracks["tracks"][0]


def test_webcam_posteriors_of_a_model_with_other_hold_both_chains(web_config):
    from tests.stubs import stub_other_analyzer

    client = local_client(create_app(web_config, analyzer=stub_other_analyzer()))
    answers = webcam(client, [scene([(30, 40, 70, 70, 230), (200, 120, 70, 70, 40)])] * 2)
    assert [f["state"] for f in answers[-1]["faces"]] == ["Angry", "Other"]
    posteriors = [t["posterior"] for t in answers[-1]["tracks"]["tracks"]]
    assert [sorted(p) for p in posteriors] == [["in/out", "states"]] * 2
    assert posteriors[1]["in/out"][1] > 0.99 and len(posteriors[1]["states"]) == 4


def test_an_uncertain_webcam_face_is_tracked_but_counts_for_no_share(web_config):
    client = mild_client(web_config, gate=small_faces_gate())
    picture = scene([(30, 40, 70, 70, 230), (200, 120, 30, 30, 40)])
    _, second = webcam(client, [picture, picture])
    small = second["faces"][1]
    assert small["state"] == small["frame_state"] == "Uncertain" and small["reason"] == "too small"
    assert small["track_id"] == 1 and "posterior" in second["tracks"]["tracks"][1]
    summary = second["summary"]
    assert summary["faces_seen"] == 2 and summary["faces_answered"] == 1
    assert summary["uncertain"] == {"too small": 1} and summary["state_shares"]["Angry"] == 1.0
    script = client.get("/static/analyze.js").text
    assert "f.state === UNCERTAIN && f.reason ? `?: ${f.reason}`" in script  # the label says why


STALE = {"next_id": 1, "tracks": [{"id": 0, "box": [30, 40, 70, 70], "missed": 0, "time": 5.0,
                                   "posterior": {"states": [0.7, 0.1, 0.1, 0.1]}}]}  # fmt: skip


def with_posterior(posterior: dict) -> str:
    track = STALE["tracks"][0] | {"posterior": posterior}
    return json.dumps({"next_id": 1, "tracks": [track]})


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"tracks": with_posterior({"states": [0.5, 0.5]}), "time": "6"},
         "tracks[0].posterior.states: expected 4 probabilities"),
        ({"tracks": with_posterior({"states": [0.7, 0.1, 0.1, 0.1], "in/out": [0.5, 0.5]}),
          "time": "6"}, "tracks[0].posterior: expected the chains states of this model"),
        ({"tracks": with_posterior({"states": [0.7, 0.1, 0.1, 0.2]}), "time": "6"},
         "tracks[0].posterior.states: expected 4 probabilities ≥ 0 that sum to 1"),
        ({"tracks": json.dumps(STALE), "time": "4.5"},
         "time: 4.5 s is before track 0's last frame at 5 s"),
        ({"tracks": "{}", "time": "soon"}, "time: expected the seconds since the webcam started"),
        ({"tracks": "{}", "time": "nan"}, "time: expected the seconds"),
        ({"tracks": "{}", "time": "-1"}, "time: expected the seconds"),
        ({"tracks": "{}", "time": "inf"}, "time: expected the seconds"),
        ({"time": "1"}, "time: only with tracks"),
    ],
)  # fmt: skip
def test_api_refuses_a_bad_smoothing_state_naming_the_field(web_config, form, words):
    client = mild_client(web_config)
    response = client.post("/api/analyze", files={"file": ("w.jpg", encode(one_face(230)))},
                           data=form)  # fmt: skip
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


def test_a_classroom_of_tracks_with_posteriors_fits_the_size_limit():
    """The limits on ``tracks`` still hold with posteriors: 1,000 tracks (``from_state``'s
    cap) of a five-answer model, with values as long as JSON writes them, stay under 256 KiB
    and within the depth limit."""
    from aiducation.inference.tracking import IoUTracker, TrackPosterior
    from aiducation.web.analyze_page import MAX_TRACKS_CHARS, MAX_TRACKS_DEPTH, json_depth

    tracker = IoUTracker()
    tracker.update([(1000.5 + 20 * i, 1000.5, 19.5, 19.5) for i in range(1000)])
    for track in range(1000):
        tracker.posteriors[track] = TrackPosterior(
            86_399.999, {"states": np.array([1 - 3.3333e-5, 1.1111e-5, 1.1111e-5, 1.1111e-5]),
                         "in/out": np.array([1 - 1.2345e-7, 1.2345e-7])})  # fmt: skip
    text = json.dumps(tracker.to_state())
    assert len(text) < MAX_TRACKS_CHARS and json_depth(text) <= MAX_TRACKS_DEPTH
    from aiducation.web.analyze_page import parse_tracks

    carried = parse_tracks(text, False, posterior_sizes={"states": 4, "in/out": 2})
    assert len(carried.posteriors) == 1000


def lesson_with_a_small_face(tmp_path: Path) -> bytes:
    """2 s MP4 at 10 fps: a bright 60-px face and a small (30-px) dark one throughout."""
    path = tmp_path / "small.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for _ in range(20):
        writer.write(scene([(20, 40, 60, 60, 230), (200, 130, 30, 30, 40)]))
    writer.release()
    return path.read_bytes()


def test_result_page_shows_the_minutes_chart_and_the_faces_not_answered(web_config, tmp_path):
    client = mild_client(web_config, gate=small_faces_gate())
    html = post(client, lesson_with_a_small_face(tmp_path), "lesson.mp4").text
    line = " ".join(
        re.sub(
            r"</?span[^>]*>", "", re.search(r'id="uncertain">(.*?)</p>', html, re.S).group(1)
        ).split()
    )
    assert line == (
        "<strong>Faces not answered</strong> (Uncertain: too poor a view to read; they count "
        "for no share): 10 of 20: too small 10. Shares are of the 10 faces answered."
    )
    minutes = html.split('id="minutes"')[1].split("</section>")[0]
    assert "Class timeline per minute" in minutes
    (chart,) = data_urls(minutes, "image/png")
    assert cv2.imdecode(np.frombuffer(chart, np.uint8), cv2.IMREAD_COLOR).shape[1] == 900
    payload = json.loads(data_urls(html, "application/json")[0])
    shares = {"share_Angry": 1.0, "share_Bored": 0.0, "share_Focused": 0.0, "share_Neutral": 0.0}
    minute = {"minute": 0, "frames": 10, "faces": 10} | shares
    assert payload["summary"]["per_minute"] == [minute]
    names = re.findall(r'download="([^"]+)" class="download"', html)
    assert names[:4] == [
        "lesson_faces.csv",
        "lesson_students.csv",
        "lesson_minutes.csv",
        "lesson.json",
    ]
    table = pd.read_csv(io.BytesIO(data_urls(html, "text/csv")[2]))
    assert table.to_dict("records") == payload["summary"]["per_minute"]


def result_data(html: str) -> dict:
    """The JSON data block that static/exclude.js recomputes the page from."""
    block = re.search(
        r'<script type="application/json" id="result-data">(.*?)</script>', html, re.S
    )
    return json.loads(block.group(1))


def test_video_result_has_an_exclude_button_per_student_and_the_faces_as_data(client, video_bytes):
    """Issue 31: each student's row has an Exclude button (its track) and the page carries the
    per-face rows, students and summary as JSON for static/exclude.js to recompute from."""
    html = client.post("/analyze", files={"file": ("lesson.mp4", video_bytes)}).text
    payload = json.loads(data_urls(html, "application/json")[0])
    table = html.split('id="students-table"')[1].split("</table>")[0]
    button = r'<button type="button" class="exclude secondary" data-track="(\d+)" aria-pressed='
    buttons = re.findall(button + r'"false" aria-label="Exclude student (\d+)"', table)
    assert buttons == [(str(s["track"]), str(s["student"])) for s in payload["students"]]
    assert len(buttons) == 2
    assert '<script src="/static/exclude.js" defer></script>' in html
    assert 'id="state-table"' in html and 'id="exclude-status" role="status"' in html
    data = result_data(html)
    assert data["payload"]["faces"] == payload["faces"]  # exactly the faces, every column
    assert len(data["payload"]["faces"]) == payload["summary"]["faces_seen"] == 10 + 5
    assert data["payload"]["students"] == payload["students"]
    assert data["payload"]["summary"] == payload["summary"]
    assert data["columns"]["faces"][:4] == ["source", "frame", "time", "face_id"]
    assert data["columns"]["students"][:3] == ["source", "student", "track"]
    assert data["files"] == {"faces": "lesson_faces.csv", "students": "lesson_students.csv",
                             "minutes": "lesson_minutes.csv", "json": "lesson.json"}  # fmt: skip
    assert {f["face_id"] for f in data["payload"]["faces"]} == {
        s["track"] for s in payload["students"]
    }
    script = client.get("/static/exclude.js")
    assert script.status_code == 200 and "result-data" in script.text
    # no students table, nothing to exclude: a photo, or a video when aggregate only
    for form, name in (({}, "class.jpg"), ({"aggregate_only": "true"}, "lesson.mp4")):
        data_bytes = encode(scene([(40, 40, 60, 60, 230)])) if name.endswith("jpg") else video_bytes
        other = client.post("/analyze", files={"file": (name, data_bytes)}, data=form).text
        assert 'id="result-data"' not in other and "exclude.js" not in other
        assert 'class="exclude' not in other


def test_the_data_block_cannot_end_its_script_element(client, video_bytes):
    """A file name with ``</script>`` stays inside the JSON block (escaped as \\u003c)."""
    name = "</script><script>alert(1)</script>.mp4"
    html = client.post("/analyze", files={"file": (name, video_bytes)}).text
    assert result_data(html)["payload"]["source"] == name
