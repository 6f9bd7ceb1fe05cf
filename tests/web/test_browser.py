"""End-to-end tests in headless Chromium (Selenium): upload a photo and see the annotated
result and the chart; label three images with the keyboard and find them in the CSV.

They skip when Chromium or chromedriver is missing. Set ``AIDUCATION_SCREENSHOTS=DIR`` to keep
one screenshot per page there (``docs/screenshots`` holds the committed ones).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from livesite import serve_app

from aiducation.inference.pipeline import demo_image_path
from aiducation.web.app import WebConfig

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="browser tests need Chromium + chromedriver (apt-get install chromium chromium-driver)",
)


def serve(config: WebConfig) -> Iterator[str]:
    """Run the app for ``config`` on 127.0.0.1 and a free port (uvicorn in a background
    thread, the app told its address as ``aiducation serve`` tells it); yield its base URL."""
    with serve_app(config) as (url, _app):
        yield url


def classroom_y4m(folder: Path) -> Path:
    """The demo classroom photo as a 640×480 Y4M clip, the fake camera's picture (a still
    classroom: its students keep their places from frame to frame)."""
    import cv2

    frame = cv2.resize(cv2.imread(str(demo_image_path())), (640, 480), interpolation=cv2.INTER_AREA)
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    path = folder / "classroom.y4m"
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + planes) * 2)
    return path


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-dev-shm-usage", "--window-size=1200,900",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",  # test camera
        f"--use-file-for-fake-video-capture={classroom_y4m(tmp_path_factory.mktemp('camera'))}",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):  # fmt: skip
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(120)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("AIDUCATION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_clip(folder: Path, frames: int) -> Path:
    """``class.mp4`` in ``folder``: the demo photo (19 faces) still for ``frames`` at 10 fps."""
    import cv2

    frame = cv2.resize(cv2.imread(str(demo_image_path())), (640, 448))
    video = folder / "class.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 448))
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return video


def screenshot(driver, path: Path) -> None:
    """Full-page PNG (the window grows to the page's height, at most 2400 px)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height + 20, 600), 2400))
    driver.save_screenshot(str(path))
    driver.set_window_size(1200, 900)


def wait_for(driver, css: str, timeout: float = 120):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def wait_for_text(driver, css: str, prefix: str, timeout: float = 30) -> str:
    """Wait until the element at ``css`` reads ``prefix...``, across page loads: an element
    found on the page being replaced goes stale, and the next poll finds it on the new one."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def reads_prefix(browser) -> str | bool:
        text = browser.find_element(By.CSS_SELECTOR, css).text
        return text if text.startswith(prefix) else False

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(reads_prefix, f"{css} never read {prefix!r}")


@pytest.fixture
def site(tmp_path, checkpoint_dir, results_dir, prepared_dir) -> Iterator[tuple[str, Path]]:
    """The real pipeline (YuNet + a small checkpoint) with results and a prepared dataset."""
    root = tmp_path
    config = WebConfig(
        results=str(results_dir),
        model=str(checkpoint_dir),
        annotate_data=str(prepared_dir),
        annotate_out=str(root / "annotations" / "attributes.csv"),
    )
    yield from ((url, root) for url in serve(config))


def test_upload_photo_shows_annotated_result_and_chart(driver, site, shots):
    from selenium.webdriver.common.by import By

    url, _ = site
    driver.get(f"{url}/analyze")
    screenshot(driver, shots / "analyze.png")
    driver.find_element(By.ID, "file").send_keys(str(demo_image_path()))
    driver.find_element(By.ID, "analyze-button").click()
    wait_for(driver, "#shares svg")
    assert int(driver.find_element(By.ID, "faces-seen").text) >= 10
    picture = driver.find_element(By.CSS_SELECTOR, "img.annotated")
    assert (
        driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", picture)
        > 0
    )
    bars = driver.find_elements(By.CSS_SELECTOR, "#shares svg rect.bar")
    assert [b.get_attribute("data-state") for b in bars] == ["Angry", "Bored", "Focused", "Neutral"]
    assert sum(float(b.get_attribute("width")) for b in bars) > 0
    links = [
        a.get_attribute("download") for a in driver.find_elements(By.CSS_SELECTOR, "a.download")
    ]
    assert any(n.endswith(".csv") for n in links) and any(n.endswith(".json") for n in links)
    screenshot(driver, shots / "result.png")


def test_upload_video_shows_the_class_timeline(driver, site, video_bytes, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = site
    video = tmp_path / "lesson.mp4"
    video.write_bytes(video_bytes)
    driver.get(f"{url}/analyze")
    driver.find_element(By.ID, "file").send_keys(str(video))
    driver.find_element(By.ID, "analyze-button").click()
    chart = wait_for(driver, "#timeline-chart")
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart)
    minutes = driver.find_element(By.ID, "minutes-chart")  # issue 31: the per-minute timeline
    assert driver.execute_script("return arguments[0].naturalWidth", minutes) == 900
    assert "video · 4 frames analysed" in driver.find_element(By.ID, "summary").text
    clip = driver.find_element(By.ID, "annotated-clip")
    deadline = time.monotonic() + 30
    while not driver.execute_script("return arguments[0].readyState >= 1", clip):
        assert time.monotonic() < deadline, "the annotated WebM clip does not load"
        time.sleep(0.1)
    assert driver.execute_script("return arguments[0].duration", clip) > 0


def test_video_result_shows_students_table_and_legend(driver, site, tmp_path):
    """A 4-s clip of the demo photo (19 faces, YuNet): one row per student, a legend."""
    from selenium.webdriver.common.by import By

    url, _ = site
    video = demo_clip(tmp_path, frames=40)
    driver.get(f"{url}/analyze")
    legend = driver.find_element(By.ID, "legend")
    assert legend.is_displayed() and "Focused" in legend.text
    driver.find_element(By.ID, "file").send_keys(str(video))
    driver.find_element(By.ID, "analyze-button").click()
    table = wait_for(driver, "#students-table")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert 15 <= len(rows) <= 21 and table.is_displayed()
    first = rows[0].find_elements(By.CSS_SELECTOR, "td:not(.exclude-col)")
    assert float(first[2].text) >= 3.0  # seconds on screen
    assert first[4].text in {"Angry", "Bored", "Focused", "Neutral"}
    thumb = rows[0].find_element(By.CSS_SELECTOR, "img.thumb")
    assert driver.execute_script("return arguments[0].naturalWidth", thumb) == 48
    terms = [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "#legend dt")]
    assert terms == ["Angry", "Bored", "Focused", "Neutral"]  # the model's states
    assert "no sadness or anger" in driver.find_element(By.ID, "legend").text
    unanswered = driver.find_element(By.ID, "uncertain").text  # issue 31
    assert unanswered.startswith("Faces not answered") and "faces answered" in unanswered


def test_webcam_frames_are_analysed_live_and_students_tallied(driver, site):
    """Chromium's fake camera shows a classroom; frames go to /api/analyze about once a
    second, and the students table counts each tracked face once, frame after frame."""
    from selenium.webdriver.common.by import By

    url, _ = site
    driver.get(f"{url}/analyze")
    driver.find_element(By.ID, "webcam-start").click()
    status = driver.find_element(By.ID, "webcam-status")
    deadline = time.monotonic() + 60
    while not status.text.startswith(("4 frames", "5 frames", "6 frames")):
        assert "failed" not in status.text and "No camera" not in status.text, status.text
        assert time.monotonic() < deadline, f"no frames analysed: {status.text!r}"
        time.sleep(0.2)
    driver.find_element(By.ID, "webcam-stop").click()
    assert driver.find_element(By.ID, "webcam-download").is_displayed()
    assert driver.find_element(By.ID, "webcam-stop").get_attribute("disabled")
    time.sleep(1.5)  # a frame still on its way when stopped is dropped, not counted
    stopped = status.text
    assert stopped.startswith("stopped after"), stopped
    frames, faces = (int(n) for n in re.findall(r"\d+", stopped)[:2])
    table = driver.find_element(By.ID, "webcam-students")
    assert table.is_displayed(), stopped
    header = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert header[:6] == ["student", "frames", "answered", "on screen (s)", "seen (s)",
                          "dominant state"]  # fmt: skip
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]  # fmt: skip
    # a still classroom: each face keeps one track, so there are as many students as faces,
    # each seen in the same frames (every frame once the camera shows the picture)
    assert len(rows) == faces > 0, (stopped, rows)
    assert [r[0] for r in rows] == [str(i + 1) for i in range(len(rows))]  # numbered 1..N
    assert len({r[1] for r in rows}) == 1 and 3 <= int(rows[0][1]) <= frames, rows
    assert all(int(r[2]) <= int(r[1]) for r in rows)  # Uncertain frames are in no share
    # each state's share with its 95 % interval: "40% 20–60", the interval around the share
    share = re.compile(r"(\d+)% (\d+|–)–(\d+|–)")
    for r in rows:
        assert r[5] in [*header[6:], "Uncertain"], r
        for cell in r[6:]:
            value, low, high = share.fullmatch(cell).groups()
            assert low == high == "–" or int(low) <= int(value) <= int(high), r
    assert driver.find_element(By.ID, "webcam-students-download").is_displayed()


def test_live_intervals_follow_the_block_bootstrap_of_students_csv(driver, site):
    """The webcam table's intervals (analyze.js, a normal approximation) are within a few
    points of the moving-block bootstrap of students.csv, and say why a face is Uncertain."""
    import numpy as np

    from aiducation.inference.students import share_intervals

    url, _ = site
    driver.get(f"{url}/analyze")
    live = "return window.aiducationLive"
    rng = np.random.default_rng(0)
    states = ["Angry", "Bored", "Focused", "Neutral"]
    for n, stay in [(30, 0.9), (60, 0.7), (120, 0.95), (200, 0.5)]:
        answers = [states[0]]
        for _ in range(n - 1):
            answers.append(answers[-1] if rng.random() < stay else str(rng.choice(states)))
        block = min(10, round(n**0.5))
        expected = share_intervals(answers, states, block)
        for state in states:
            got = driver.execute_script(f"{live}.shareInterval(arguments[0], arguments[1], "
                                        "arguments[2])", answers, state, block)  # fmt: skip
            assert np.allclose(got, expected[state], atol=0.06), (n, state, got, expected)
    assert driver.execute_script(
        f"{live}.shareInterval(['Bored', 'Bored', 'Bored'], 'Bored', 2)"
    ) == [1, 1]
    face = {"state": "Uncertain", "reason": "turned away", "confidence": 0.4}
    assert driver.execute_script(f"{live}.label(arguments[0])", face) == "?: turned away"
    assert "not answered (turned away)" in driver.execute_script(
        f"{live}.describe(arguments[0])", face
    )
    smoothed = {"state": "Focused", "frame_state": "Bored", "confidence": 0.71}
    assert driver.execute_script(f"{live}.describe(arguments[0])", smoothed) == (
        "Focused (71 %), smoothed over this face's frames so far; this frame alone: Bored"
    )


def test_bad_upload_shows_error_page(driver, site, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = site
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    driver.get(f"{url}/analyze")
    driver.find_element(By.ID, "file").send_keys(str(bad))
    driver.find_element(By.ID, "analyze-button").click()
    message = wait_for(driver, "#error-message").text
    assert "notes.jpg" in message and "not a supported image or video" in message


def test_label_three_images_with_the_keyboard(driver, site, shots):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, root = site
    driver.get(f"{url}/annotate?attribute=gender")
    screenshot(driver, shots / "annotate.png")
    shown = []
    for done, key in enumerate(("1", "2", "c")):
        wait_for_text(driver, "#progress-text", f"{done} of")
        shown.append(driver.find_element(By.CSS_SELECTOR, "p.hint").text.split(" · ")[0])
        ActionChains(driver).send_keys(key).perform()
        wait_for_text(driver, "#progress-text", f"{done + 1} of")  # the label was recorded
    table = pd.read_csv(root / "annotations" / "attributes.csv", dtype=str)
    assert dict(zip(table["image"], table["gender"], strict=True)) == dict(
        zip(shown, ("female", "male", "cannot tell"), strict=True)
    )


def test_experiments_and_model_pages(driver, site, shots):
    from selenium.webdriver.common.by import By

    url, _ = site
    driver.get(f"{url}/experiments")
    rows = driver.find_elements(By.CSS_SELECTOR, "#entries tbody tr")
    assert len(rows) == 4
    screenshot(driver, shots / "experiments.png")
    driver.find_element(By.LINK_TEXT, "runs/faceresnet_t").click()
    curves = wait_for(driver, "#history")
    deadline = time.monotonic() + 60
    while not driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", curves
    ):
        assert time.monotonic() < deadline, "training curves did not load"
        time.sleep(0.1)
    screenshot(driver, shots / "experiment_run.png")
    driver.get(f"{url}/model")
    assert "faceresnet_t" in driver.find_element(By.ID, "model-facts").text
    screenshot(driver, shots / "model.png")


def test_wide_tables_scroll_inside_their_card_and_the_favicon_loads(driver, site, results_dir):
    """A 16-column Table 2.2 (1,446 px wide before) in a 1,280-px window: the page does not
    scroll sideways and no table runs past its card; /favicon.ico answers."""
    from selenium.webdriver.common.by import By

    url, _ = site
    columns = ["model", "params", "accuracy", "macro_precision", "macro_recall", "macro_f1"]
    columns += [f"{c}_{m}" for c in ("angry", "bored", "focused", "neutral") for m in "prf"]
    rows = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    rows += ["| B32_N8_FC2_K7_AP20 | 12345678 |" + " 0.6234 |" * (len(columns) - 2)] * 12
    (results_dir / "grid" / "table_2_2.md").write_text("\n".join(rows) + "\n")
    driver.set_window_size(1280, 900)
    try:
        driver.get(f"{url}/experiments/view?path=grid")
        wait_for(driver, "details.report table")
        overflow = driver.execute_script(
            """
            const out = [];
            for (const table of document.querySelectorAll("main table")) {
              let box = table;  // the table or the ancestor that scrolls it
              while (box && !["auto", "scroll"].includes(getComputedStyle(box).overflowX))
                box = box.parentElement;
              const card = (table.closest(".card") || document.querySelector("main"));
              const right = (box || table).getBoundingClientRect().right;
              if (right > card.getBoundingClientRect().right + 1) out.push(right);
            }
            return [document.documentElement.scrollWidth, innerWidth, out];
            """
        )
        widest = driver.execute_script(
            "return Math.max(...[...document.querySelectorAll('main table')]"
            ".map(t => t.scrollWidth))"
        )
    finally:
        driver.set_window_size(1200, 900)
    scroll_width, window_width, past_card = overflow
    assert widest > 1100  # the table really is wider than the page's column
    assert past_card == [] and scroll_width <= window_width
    icon = driver.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
    assert icon.endswith("/static/favicon.svg")
    driver.get(f"{url}/favicon.ico")
    assert "<svg" in driver.page_source


def test_excluding_a_student_recomputes_the_shares_counts_and_downloads(driver, site, tmp_path):
    """Issue 31: Exclude on a student's row takes their faces out of the page's counts, shares
    (table and bars), the number of students and the downloads; pressing it again (from the
    keyboard) brings them back."""
    import io
    import json
    from urllib.parse import unquote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = site
    video = demo_clip(tmp_path, frames=30)
    driver.get(f"{url}/analyze")
    driver.find_element(By.ID, "file").send_keys(str(video))
    driver.find_element(By.ID, "analyze-button").click()
    wait_for(driver, "#students-table button.exclude")
    data = json.loads(driver.find_element(By.ID, "result-data").get_attribute("textContent"))
    classes, faces = data["payload"]["classes"], data["payload"]["faces"]
    students = data["payload"]["students"]
    assert len(students) >= 10

    def shown() -> dict:
        rows = driver.find_elements(By.CSS_SELECTOR, "#state-table tbody tr")
        bars = driver.find_elements(By.CSS_SELECTOR, "#shares svg rect.bar")
        return {
            "students": int(driver.find_element(By.ID, "student-count").text),
            "faces": int(driver.find_element(By.ID, "faces-seen").text),
            "counts": {
                r.get_attribute("data-state"): int(r.find_element(By.CLASS_NAME, "count").text)
                for r in rows
            },
            "shares": {
                r.get_attribute("data-state"): r.find_element(By.CLASS_NAME, "share").text
                for r in rows
            },
            "bars": {b.get_attribute("data-state"): float(b.get_attribute("width")) for b in bars},
        }

    def expected(track: int | None) -> dict:
        kept = [f for f in faces if f["face_id"] != track]
        counts = {c: sum(f["state"] == c for f in kept) for c in classes}
        answered = sum(counts.values())
        return {
            "students": len(students) - (track is not None),
            "faces": len(kept),
            "counts": counts,
            "shares": {c: f"{round(100 * n / answered)}%" for c, n in counts.items()},
            "bars": {c: round(260 * n / answered, 1) for c, n in counts.items()},
        }

    before = shown()
    assert before["students"] == len(students)
    assert before["counts"] == expected(None)["counts"]
    # the student with the most faces answered: the shares must move
    target = max(students, key=lambda s: s["usable_frames"])
    button = driver.find_element(By.CSS_SELECTOR, f'button.exclude[data-track="{target["track"]}"]')
    assert button.is_displayed() and button.get_attribute("aria-pressed") == "false"
    button.click()
    after = shown()
    want = expected(target["track"])
    assert after["students"] == before["students"] - 1 == want["students"]
    assert after["faces"] == want["faces"] < before["faces"]
    assert after["counts"] == want["counts"] != before["counts"]
    assert after["shares"] == want["shares"]
    assert after["bars"] == pytest.approx(want["bars"], abs=0.11)
    assert button.get_attribute("aria-pressed") == "true"
    row = driver.find_element(
        By.CSS_SELECTOR, f'#students-table tr[data-track="{target["track"]}"]'
    )
    assert "excluded" in row.get_attribute("class")
    assert f"student {target['student']}" in driver.find_element(By.ID, "exclude-status").text

    # the downloads are made in the page, without the excluded student's faces
    def fetch(_, href: str) -> str:  # a data: URL made in the page
        head, _, body = href.partition(",")
        assert head.startswith("data:") and ";base64" not in head
        return unquote(body)

    links = {a.get_attribute("download"): a.get_attribute("href")
             for a in driver.find_elements(By.CSS_SELECTOR, "a.download")}  # fmt: skip
    payload = json.loads(fetch(driver, links[data["files"]["json"]]))
    assert {f["face_id"] for f in payload["faces"]} == {f["face_id"] for f in faces} - {
        target["track"]
    }
    assert payload["summary"]["students"] == want["students"]
    assert payload["summary"]["state_counts"] == want["counts"]
    assert payload["summary"]["excluded_tracks"] == [target["track"]]
    assert target["track"] not in [s["track"] for s in payload["students"]]
    faces_csv = fetch(driver, links[data["files"]["faces"]])
    table = pd.read_csv(io.StringIO(faces_csv))
    assert list(table.columns) == data["columns"]["faces"] and len(table) == want["faces"]
    students_csv = fetch(driver, links[data["files"]["students"]])
    assert len(students_csv.strip().splitlines()) == 1 + want["students"]
    # the keyboard takes the student back: every number as before
    button.send_keys(Keys.SPACE)
    assert shown() == before and button.get_attribute("aria-pressed") == "false"
    links = {a.get_attribute("download"): a.get_attribute("href")
             for a in driver.find_elements(By.CSS_SELECTOR, "a.download")}  # fmt: skip
    assert links[data["files"]["json"]].startswith("data:application/json")  # the server's again
