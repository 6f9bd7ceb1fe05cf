"""Headless Chromium for the browser tests of issue 32 (the playback and job-page tests), with
the flags test_browser.py uses; no fake camera."""

from __future__ import annotations

from pathlib import Path

from test_browser import CHROMEDRIVER, CHROMIUM


def start_chromium(profile: Path):
    """A headless Chromium (Selenium) with its own profile folder; quit it when done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-dev-shm-usage", "--window-size=1200,900",
        "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(60)
    return driver
