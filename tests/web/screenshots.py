"""Save one screenshot per page of the web app (for docs/screenshots), in headless Chromium.

    .venv/bin/python tests/web/screenshots.py --out docs/screenshots \\
        [--results results] [--model CKPT] [--data prepared/ferplus]

Uses the bundled demo photo for the result page; the run page shows the first training run
found under ``--results``. Needs Chromium and chromedriver (see test_browser.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from test_browser import CHROMEDRIVER, CHROMIUM, screenshot, serve, wait_for

from aiducation.inference.pipeline import demo_image_path
from aiducation.web.app import WebConfig
from aiducation.web.experiments import find_entries


def shrink(path: Path, width: int = 900, max_height: int = 1400) -> None:
    """Scale to ``width``, crop long pages, and store with a 128-colour palette."""
    from PIL import Image

    with Image.open(path) as image:
        height = round(image.height * width / image.width)
        small = image.convert("RGB").resize((width, height), Image.LANCZOS)
    small = small.crop((0, 0, width, min(height, max_height)))
    small.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--results", default="results")
    parser.add_argument("--model")
    parser.add_argument("--data", help="prepared dataset for the Annotate page")
    args = parser.parse_args()
    if not (CHROMIUM and CHROMEDRIVER):
        sys.exit("needs chromium and chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = WebConfig(results=args.results, model=args.model, annotate_data=args.data,
                           annotate_out=f"{tmp}/attributes.csv")  # fmt: skip
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-dev-shm-usage", f"--user-data-dir={tmp}/profile"):  # fmt: skip
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            for url in serve(config):
                driver.get(f"{url}/analyze")
                screenshot(driver, args.out / "analyze.png")
                driver.find_element(By.ID, "file").send_keys(str(demo_image_path()))
                driver.find_element(By.ID, "analyze-button").click()
                wait_for(driver, "#shares svg")
                screenshot(driver, args.out / "result.png")
                driver.get(f"{url}/experiments")
                screenshot(driver, args.out / "experiments.png")
                runs = [e for e in find_entries(args.results) if e.kind == "run"]
                if runs:
                    driver.get(f"{url}/experiments/view?path={runs[0].path}")
                    wait_for(driver, "#history")
                    driver.execute_script("return new Promise(r => setTimeout(r, 3000))")
                    screenshot(driver, args.out / "experiment_run.png")
                driver.get(f"{url}/annotate")
                screenshot(driver, args.out / "annotate.png")
                driver.get(f"{url}/model")
                screenshot(driver, args.out / "model.png")
        finally:
            driver.quit()
    for path in args.out.glob("*.png"):
        shrink(path)
    print(f"screenshots in {args.out}/")


if __name__ == "__main__":
    main()
