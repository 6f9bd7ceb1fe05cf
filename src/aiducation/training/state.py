"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

A nested structure (an optimizer ``state_dict``, history rows, ...) is split into a flat
``{key: tensor}`` dict and a JSON skeleton in which each tensor is replaced by
``{"__tensor__": key}``; :func:`unflatten` rebuilds it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from aiducation.atomic import atomic_directory

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"


def flatten(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "t") -> Any:
    """Replace tensors in ``obj`` by references, collecting them in ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().cpu().clone(memory_format=torch.contiguous_format)
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if not all(isinstance(k, str | int) for k in obj):
            raise TypeError("only str/int dict keys can be saved")
        return {
            "__dict__": [[k, flatten(v, tensors, prefix)] for k, v in obj.items()],
        }
    if isinstance(obj, list | tuple):
        items = [flatten(v, tensors, prefix) for v in obj]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot save {type(obj).__name__} in a training state")


def unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(unflatten(v, tensors) for v in obj["__tuple__"])
        return {k: unflatten(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    return obj


def save_state(directory: str | Path, state: dict) -> Path:
    """Write ``state`` (nested dicts/lists of tensors and JSON values) atomically."""
    directory = Path(directory)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten(state, tensors)
    with atomic_directory(directory) as tmp:
        save_file(tensors, str(tmp / STATE_TENSORS))
        (tmp / STATE_JSON).write_text(json.dumps(skeleton))
    return directory


def load_state(directory: str | Path) -> dict:
    directory = Path(directory)
    tensors = load_file(str(directory / STATE_TENSORS))
    return unflatten(json.loads((directory / STATE_JSON).read_text()), tensors)


def has_state(directory: str | Path) -> bool:
    directory = Path(directory)
    return (directory / STATE_TENSORS).is_file() and (directory / STATE_JSON).is_file()
