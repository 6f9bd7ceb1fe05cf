"""Checkpoints as plain files: ``model.safetensors`` (weights) + ``model.json`` (everything else).

``model.json`` holds ``arch`` (registry name), ``arch_kwargs``, ``classes`` and free-form
extras (training config, metrics, ...). The model is rebuilt from the registry and the weights
are read with safetensors, so loading never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from aiducation.atomic import atomic_directory
from aiducation.models.registry import create_model

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


@dataclass
class Checkpoint:
    """A model rebuilt from a checkpoint directory, with its saved configuration."""

    model: nn.Module
    config: dict
    path: Path
    extra: dict = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])


def bundled_model_dir() -> Path:
    """Directory of the model shipped inside the package."""
    return Path(str(resources.files("aiducation") / "assets" / "model"))


def resolve_checkpoint_dir(path: str | Path | None) -> Path:
    """Find the checkpoint directory for a checkpoint dir, a run dir, or one of its files.

    ``None`` means the bundled model. A run directory resolves to its best checkpoint.
    """
    if path is None:
        path = bundled_model_dir()
    path = Path(path)
    candidates = [path, path / "checkpoints" / "best", path / "best"]
    if path.is_file():
        candidates.insert(0, path.parent)
    for candidate in candidates:
        if (candidate / CONFIG_FILE).is_file() and (candidate / WEIGHTS_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        f"no checkpoint at {path}: expected {CONFIG_FILE} and {WEIGHTS_FILE} there, "
        "or a run directory holding checkpoints/best/"
    )


def save_checkpoint(
    directory: str | Path,
    model: nn.Module,
    *,
    arch: str,
    arch_kwargs: dict,
    classes: list[str],
    **extra,
) -> Path:
    """Write weights and config to ``directory`` atomically (temp dir, then rename)."""
    directory = Path(directory)
    config = {"arch": arch, "arch_kwargs": arch_kwargs, "classes": list(classes), **extra}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_directory(directory) as tmp:
        save_file(state, str(tmp / WEIGHTS_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=str))
    return directory


def load_checkpoint(path: str | Path | None = None, device: str = "cpu") -> Checkpoint:
    """Rebuild the model saved at ``path`` (``None``: the bundled model), in eval mode."""
    directory = resolve_checkpoint_dir(path)
    config = json.loads((directory / CONFIG_FILE).read_text())
    for key in ("arch", "arch_kwargs", "classes"):
        if key not in config:
            raise ValueError(f"{directory / CONFIG_FILE}: missing field {key!r}")
    model = create_model(config["arch"], **config["arch_kwargs"])
    state = load_file(str(directory / WEIGHTS_FILE), device=device)
    model.load_state_dict(state)
    model.to(device).eval()
    return Checkpoint(model=model, config=config, path=directory)


def predict_proba(
    model: nn.Module, faces_uint8: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """Class probabilities for ``(N, 48, 48)`` uint8 faces, evaluated in batches without grad."""
    out = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(faces_uint8), batch_size):
            batch = faces_uint8[start : start + batch_size].unsqueeze(1).float().div_(255)
            out.append(model(batch).softmax(dim=1))
    if not out:
        return torch.empty(0, 0)
    return torch.cat(out)
