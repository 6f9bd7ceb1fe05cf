"""The whole-lesson job page in headless Chromium (issue 32): upload through the form, watch
the progress move (frames done of the total, time left) without reloading, then the page
shows the result by itself: students, per-minute timeline, and an annotated video that plays.
Skips when Chromium or chromedriver is missing."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import pytest
from chromium import start_chromium
from livesite import serve_app
from test_browser import CHROMEDRIVER, CHROMIUM, screenshot, wait_for
from test_jobs import slow_analyzer
from webworld import scene

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="browser tests need Chromium + chromedriver (apt-get install chromium chromium-driver)",
)


def clip(path: Path, seconds: int = 10) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for i in range(10 * seconds):
        writer.write(scene([(20 + i % 100, 40, 60, 60, 230), (200, 130, 60, 60, 40)]))
    writer.release()
    return path


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    browser = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """``$AIDUCATION_SCREENSHOTS`` (kept, as in test_browser.py) or a temporary folder."""
    folder = os.environ.get("AIDUCATION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_job_page_shows_progress_then_the_result(driver, shots, web_config, tmp_path):
    from selenium.webdriver.common.by import By

    config = replace(web_config, database=str(tmp_path / "lessons.sqlite"),
                     jobs_dir=str(tmp_path / "jobs"), max_upload_mb=50)  # fmt: skip
    analyzer = slow_analyzer()
    analyzer.delay = 0.12  # 50 frames: about 6 s of analysis, three or four page updates
    with serve_app(config, analyzer) as (url, _):
        driver.get(f"{url}/jobs/new")
        driver.find_element(By.ID, "lesson").send_keys("Algebra, week 3")
        driver.find_element(By.ID, "course").send_keys("Maths 9B")
        driver.find_element(By.ID, "file").send_keys(str(clip(tmp_path / "lesson.mp4")))
        driver.find_element(By.ID, "job-button").click()
        wait_for(driver, "#job-progress-card", timeout=30)
        assert driver.current_url.endswith("/jobs/1")
        seen = set()
        deadline = time.monotonic() + 60
        while not driver.find_elements(By.ID, "result-summary"):
            assert time.monotonic() < deadline, "the job page never showed the result"
            try:
                done, total = (
                    driver.find_element(By.ID, i).text for i in ("job-done", "job-total")
                )
                eta = driver.find_element(By.ID, "job-eta").text
                if done.isdigit() and total == "50" and 0 < int(done) < 50:
                    seen.add((int(done), eta))
                    if len(seen) == 1:
                        screenshot(driver, shots / "job_running.png")
            except Exception:  # the page is being replaced by the result
                pass
            time.sleep(0.2)
        assert len({done for done, _ in seen}) >= 2, seen  # progress moved without a reload
        assert any(eta not in ("–", "") for _, eta in seen)
        rows = driver.find_elements(By.CSS_SELECTOR, "#students-table tbody tr")
        assert len(rows) == 2
        assert "recorded in the lesson history" in driver.find_element(By.ID, "job-summary").text
        assert driver.execute_script("return arguments[0].naturalWidth",
                                     driver.find_element(By.ID, "minutes-chart")) > 0  # fmt: skip
        video = driver.find_element(By.ID, "annotated-clip")
        deadline = time.monotonic() + 30
        while driver.execute_script("return arguments[0].readyState", video) < 2:
            assert driver.execute_script("return arguments[0].error", video) is None
            assert time.monotonic() < deadline, "the annotated video does not load"
            time.sleep(0.2)
        assert driver.execute_script("return arguments[0].videoWidth", video) == 320
        assert driver.execute_script(
            "const v = arguments[0]; v.currentTime = v.duration / 2;"
            "return new Promise(r => v.onseeked = () => r(v.currentTime))", video
        ) > 0  # fmt: skip
        screenshot(driver, shots / "job_done.png")
