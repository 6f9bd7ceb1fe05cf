"""The Lessons pages in headless Chromium (issue 32): what a teacher sees in the list, in one
lesson and in the course view, two lessons compared, a lesson deleted through its
confirmation page, and no console errors (the Content-Security-Policy included).

They skip when Chromium or chromedriver is missing (as test_browser.py). Set
``AIDUCATION_SCREENSHOTS=DIR`` to keep the pages' screenshots there, shrunk as the committed
ones in docs/screenshots (``lessons.png``, ``lesson.png``, ``lessons_course.png``,
``lessons_compare.png``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lessonworld import CLASSES, example_history
from test_browser import CHROMEDRIVER, CHROMIUM, screenshot, serve, wait_for

from aiducation.lessons import LessonStore
from aiducation.web.app import WebConfig

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="browser tests need Chromium + chromedriver (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator:
    """Headless Chromium that keeps the console's messages (``get_log("browser")``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--window-size=1200,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict]]:
    """The app on a free port over a real SQLite history of seven lessons."""
    monkeypatch.setenv("AIDUCATION_DATA_DIR", str(tmp_path / "data"))
    with LessonStore.open() as store:
        ids = example_history(store)
    config = WebConfig(jobs=False, jobs_dir=str(tmp_path / "jobs"))
    yield from ((url, ids) for url in serve(config))


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> tuple[Path, bool]:
    folder = os.environ.get("AIDUCATION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path, bool(folder)


def keep(driver, shots: tuple[Path, bool], name: str) -> None:
    """A full-page screenshot, shrunk like the committed ones when they are kept."""
    folder, kept = shots
    screenshot(driver, folder / name)
    if kept:
        shrink(folder / name)


def shrink(path: Path, width: int = 900, max_height: int = 1400) -> None:
    """As tests/web/screenshots.py shrinks the committed screenshots, with a 256-colour
    palette taken from the picture (fewer colours turned the states' colours to others)."""
    from PIL import Image

    with Image.open(path) as image:
        height = round(image.height * width / image.width)
        small = image.convert("RGB").resize((width, height), Image.LANCZOS)
    small = small.crop((0, 0, width, min(height, max_height)))
    small.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def texts(driver, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def drawn(driver, css: str) -> tuple[float, float]:
    """Width and height the browser gave an element (0 when it is not laid out)."""
    box = driver.execute_script(
        "const b = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return [b.width, b.height];",
        css,
    )
    return box[0], box[1]


def test_list_lesson_and_course_as_a_teacher_sees_them(browser, site, shots):
    from selenium.webdriver.common.by import By

    url, ids = site
    browser.get_log("browser")  # start clean
    browser.get(f"{url}/lessons")
    assert texts(browser, "#lessons-table tbody th")[:3] == [
        "Geometry",
        "Ratios, practice",
        "Ratios",
    ]
    header = texts(browser, "#lessons-table thead th")
    assert header[:4] == ["lesson", "course", "date", "length / analysed"]
    assert header[6:10] == list(CLASSES)
    first = texts(browser, f'tr[data-lesson="{ids["Geometry"]}"] td')
    assert first[:5] == ["7b maths", "2025-03-19", "45 min / all", "5400", "6"]
    assert all(cell.endswith(" %") for cell in first[5:9])
    percent = texts(browser, f'tr[data-lesson="{ids["Percent"]}"] td')[2]
    assert percent == "45 min / 40 min only"
    keep(browser, shots, "lessons.png")

    browser.find_element(By.LINK_TEXT, "Percent").click()
    wait_for(browser, "svg.chart.timeline")
    assert browser.find_element(By.ID, "lesson-name").text == "Percent"
    width, height = drawn(browser, "svg.chart.timeline")
    assert width > 600 and height > 200  # laid out at the card's width
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect.share")) >= 44 * 3
    assert "the last 5 min 00 s are in no number" in browser.find_element(By.ID, "cut-warning").text
    student = texts(browser, '#students-table tr[data-student="1"] > *')
    assert student[:5] == ["1", "3 min 20 s", "300 of 400", "5 %", "Focused"]
    assert texts(browser, "#students-table tr.few th") == ["6"]
    (flag,) = texts(browser, "#students-table tr.few .flag")
    assert flag.startswith("⚑ too few")
    keep(browser, shots, "lesson.png")

    browser.find_element(By.ID, "course-link").click()
    wait_for(browser, "svg.chart.course")
    assert browser.find_element(By.ID, "course-name").text == "7b maths over time"
    points = browser.find_elements(By.CSS_SELECTOR, "svg.course circle.point")
    assert len(points) == 6 * len(CLASSES)
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.course path.error-bar")) == 24
    assert drawn(browser, "svg.chart.course")[0] > 600
    dates = texts(browser, "#course-table tbody td:nth-of-type(1)")
    assert dates == sorted(dates) and dates[0] == "2025-03-03"
    keep(browser, shots, "lessons_course.png")
    assert console_errors(browser) == []


def test_compare_two_lessons_and_delete_one(browser, site, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, ids = site
    browser.get_log("browser")
    browser.get(f"{url}/lessons/compare")
    Select(browser.find_element(By.ID, "pick-a")).select_by_value(str(ids["Ratios"]))
    Select(browser.find_element(By.ID, "pick-b")).select_by_value(str(ids["Geometry"]))
    browser.find_element(By.CSS_SELECTOR, "#compare-form button").click()
    wait_for(browser, "svg.chart.compare")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pair svg.chart.timeline")) == 2
    left, right = (drawn(browser, f"#lesson-{k} svg") for k in "ab")
    assert left == right and left[0] > 300  # side by side, the same scale
    diffs = texts(browser, "#difference-table td.diff")
    assert len(diffs) == 4 and all(d.endswith(("point", "points")) for d in diffs)
    keep(browser, shots, "lessons_compare.png")

    browser.get(f"{url}/lessons/{ids['Poems']}")
    browser.find_element(By.ID, "delete-link").click()
    wait_for(browser, "#delete-form")
    browser.find_element(By.ID, "delete-button").click()  # a same-origin form: allowed
    wait_for(browser, "#deleted")
    assert str(ids["Poems"]) in browser.find_element(By.ID, "deleted").text
    assert "Poems" not in texts(browser, "#lessons-table tbody th")
    browser.get(f"{url}/lessons/{ids['Poems']}")
    assert "Not in the lesson history" in browser.find_element(By.TAG_NAME, "h1").text
    errors = console_errors(browser)
    # the console is read: the deleted lesson's 404 is its one message
    assert len(errors) == 1 and "404" in errors[0]
