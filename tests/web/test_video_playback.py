"""The CLI's annotated video plays in headless Chromium (issue 32): H.264 MP4 loads, has a
picture, plays and seeks; the ``mp4v`` that OpenCV wrote before is refused (the reason for the
change). Skips when Chromium or chromedriver is missing."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from chromium import start_chromium
from test_browser import CHROMEDRIVER, CHROMIUM
from tests.stubs import stub_analyzer
from webworld import scene

from aiducation.inference.runner import AnalyzeConfig, run_analysis

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="browser tests need Chromium + chromedriver (apt-get install chromium chromium-driver)",
)

PLAY = """
const [src, done] = arguments;
const video = document.createElement("video");
video.muted = true;
document.body.append(video);
const facts = () => ({error: video.error && video.error.code, ready: video.readyState,
                      width: video.videoWidth, height: video.videoHeight,
                      duration: video.duration, time: video.currentTime});
video.onerror = () => done(facts());
video.oncanplay = async () => {
  video.oncanplay = null;
  const loaded = facts();
  try { await video.play(); } catch (e) { return done({...facts(), play: String(e)}); }
  await new Promise(r => setTimeout(r, 1200));
  video.pause();
  const played = facts();
  video.currentTime = video.duration / 2;
  await new Promise(r => { video.onseeked = r; });
  done({loaded, played, seeked: facts()});
};
video.src = src;
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def play(browser, video: Path) -> dict:
    """Open a blank page beside ``video`` (file://) and play it in a <video> element."""
    page = video.parent / "player.html"
    page.write_text("<!doctype html><title>player</title><body></body>")
    browser.get(page.as_uri())
    return browser.execute_async_script(PLAY, video.name)


def lesson_clip(path: Path, frames: int = 40, fps: float = 10.0) -> Path:
    """A 4-s 320×240 clip: a bright and a dark 'face' drifting (the stub analyzer's faces)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (320, 240))
    for i in range(frames):
        writer.write(scene([(20 + 3 * i, 40, 60, 60, 230), (200, 130, 60, 60, 40)]))
    writer.release()
    return path


def test_the_cli_annotated_video_plays_and_seeks_in_chromium(browser, tmp_path: Path) -> None:
    source = lesson_clip(tmp_path / "lesson.mp4")
    out = tmp_path / "out"
    config = AnalyzeConfig(inputs=[str(source)], out=str(out), fps=5.0, progress=False)
    run_analysis(config, stub_analyzer())
    annotated = out / "annotated" / "lesson.mp4"
    assert annotated.is_file()
    facts = play(browser, annotated)
    assert "loaded" in facts, facts  # no MediaError, no refused play()
    loaded, played, seeked = facts["loaded"], facts["played"], facts["seeked"]
    assert loaded["error"] is None and loaded["ready"] >= 2
    assert loaded["width"] >= 320 and loaded["height"] >= 240  # the picture and its legend
    assert loaded["duration"] == pytest.approx(4.0, abs=0.3)  # 20 frames at 5 per second
    assert played["time"] > 0.5 and played["error"] is None  # time advanced while playing
    assert seeked["time"] == pytest.approx(loaded["duration"] / 2, abs=0.3)
    assert seeked["error"] is None and seeked["ready"] >= 2


def test_opencv_mp4v_is_what_chromium_refused(browser, tmp_path: Path) -> None:
    facts = play(browser, lesson_clip(tmp_path / "old.mp4"))
    assert facts.get("error") == 4  # MEDIA_ERR_SRC_NOT_SUPPORTED
