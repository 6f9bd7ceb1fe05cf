"""The Model page: the checkpoint in use (its ``model.json``) and its model card, as HTML.

The card is Markdown next to the weights (``MODEL_CARD.md``, ``model_card.md`` or
``README.md``), rendered by :func:`aiducation.web.markdown.markdown_to_html`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from aiducation.models.checkpoint import MODEL_CONFIG_FILE, WEIGHTS_FILE, resolve_checkpoint_dir
from aiducation.rundir import RunDir, in_run
from aiducation.web.markdown import markdown_to_html

CARD_NAMES = ("MODEL_CARD.md", "model_card.md", "README.md")


@dataclass
class ModelInfo:
    """What the Model page shows; ``error`` explains a missing or unusable checkpoint."""

    path: str
    config: dict = field(default_factory=dict)
    card_html: Markup | None = None
    weights_mb: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)  # when inside a run directory
    error: str | None = None


def model_info(model: str | Path | None) -> ModelInfo:
    """The checkpoint ``model`` (``None``: the bundled model) and its card, if any."""
    try:
        directory = resolve_checkpoint_dir(model)
    except FileNotFoundError as exc:
        return ModelInfo(path=str(model or "bundled model"), error=str(exc))
    info = ModelInfo(path=str(directory))
    try:
        info.config = json.loads((directory / MODEL_CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        info.error = f"{directory / MODEL_CONFIG_FILE}: unreadable ({exc})"
    info.weights_mb = round((directory / WEIGHTS_FILE).stat().st_size / 2**20, 2)
    from aiducation.web.experiments import HEADLINE, describe

    if (directory / "test_metrics.json").is_file():  # shipped beside the weights (bundled)
        try:
            metrics = json.loads((directory / "test_metrics.json").read_text())
            info.test_metrics = {k: float(metrics[k]) for k in HEADLINE if k in metrics}
        except (OSError, ValueError, TypeError):
            pass
    elif in_run(directory):  # run/checkpoints/best: the run's test score
        run = RunDir.of_checkpoint(directory).path
        info.test_metrics = describe(run, run, "run").headline
    for name in CARD_NAMES:
        for folder in (directory, directory.parent):
            if (folder / name).is_file():
                info.card_html = markdown_to_html((folder / name).read_text())
                return info
    return info


def add_model_routes(app: FastAPI, state, page) -> None:
    """Register the Model page: the model card and the server's settings."""

    @app.get("/model", response_class=HTMLResponse)
    def model_page(request: Request) -> HTMLResponse:
        info = model_info(state.config.model)
        return page(request, "model.html", active="model", info=info,
                    settings=asdict(state.config))  # fmt: skip
