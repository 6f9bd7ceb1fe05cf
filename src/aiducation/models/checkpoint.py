"""Checkpoints as plain files: ``model.safetensors`` (weights) + ``model.json`` (everything else).

``model.json`` holds ``arch`` (registry name), ``arch_kwargs`` (with the input ``mean`` and
``std`` of a model that normalises its input), ``classes`` and free-form extras (training
config, metrics, ...). The model is rebuilt from the registry and the weights
are read with safetensors, so loading never unpickles anything. Before any weight is
allocated, the model is built on the ``meta`` device and its shapes and dtypes are checked
against the safetensors header (an ``I32`` tensor where the model has ``float32`` weights would
otherwise be cast silently), and the weights read are checked to be finite (a diverged training
saves NaN), so a broken or hostile checkpoint is one clear :class:`ValueError` naming the file
and the tensor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from aiducation.atomic import atomic_directory
from aiducation.devices import resolve_device
from aiducation.models.layers import Normalize
from aiducation.models.registry import create_model
from aiducation.rundir import RunDir

WEIGHTS_FILE = "model.safetensors"
MODEL_CONFIG_FILE = "model.json"  # a checkpoint's config (a run's config.json: aiducation.rundir)
# Input statistics of the checkpoints written before model.json stored them (``arch_kwargs``
# ``mean``/``std``): fixed here, so changing the models' defaults never changes an old model.
LEGACY_MEAN, LEGACY_STD = 0.5077, 0.2550


@dataclass
class Checkpoint:
    """A model rebuilt from a checkpoint directory, with its saved configuration."""

    model: nn.Module
    config: dict
    path: Path

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
    candidates = [path, RunDir(path).checkpoint("best"), path / "best"]
    if path.is_file():
        candidates.insert(0, path.parent)
    for candidate in candidates:
        if (candidate / MODEL_CONFIG_FILE).is_file() and (candidate / WEIGHTS_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        f"no checkpoint at {path}: expected {MODEL_CONFIG_FILE} and {WEIGHTS_FILE} there, "
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
    """Write weights and config to ``directory`` atomically (temp dir, then rename); the input
    statistics of the model's :class:`Normalize` layer join ``arch_kwargs``."""
    directory = Path(directory)
    arch_kwargs = {**arch_kwargs, **input_statistics(model)}
    config = {"arch": arch, "arch_kwargs": arch_kwargs, "classes": list(classes), **extra}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_directory(directory) as tmp:
        save_file(state, str(tmp / WEIGHTS_FILE))
        (tmp / MODEL_CONFIG_FILE).write_text(json.dumps(config, indent=2, default=str))
    return directory


def load_checkpoint(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> Checkpoint:
    """Rebuild the model saved at ``path`` (``None``: the bundled model), in eval mode, on
    ``device`` (a name for :func:`aiducation.devices.resolve_device`, or a torch device).
    Checkpoints hold CPU tensors and no device, so any of them loads on any device."""
    device = resolve_device(device)
    directory = resolve_checkpoint_dir(path)
    try:
        config = _read_config(directory / MODEL_CONFIG_FILE)
        kwargs = _check_weights(directory / WEIGHTS_FILE, config)
        model = create_model(config["arch"], **kwargs)
        state = load_file(str(directory / WEIGHTS_FILE), device=str(device))
        _check_finite(state)
        model.load_state_dict(state)
        del state
        model.to(device).eval()
        with torch.inference_mode():
            outputs = model(torch.zeros(1, 1, 48, 48, device=device)).shape[-1]
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ValueError(f"checkpoint {directory}: cannot load it ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"checkpoint {directory}: {exc}") from None
    if outputs != len(config["classes"]):
        raise ValueError(
            f"checkpoint {directory}: the model has {outputs} outputs but {MODEL_CONFIG_FILE} "
            f"names {len(config['classes'])} classes"
        )
    return Checkpoint(model=model, config=config, path=directory)


def _read_config(path: Path) -> dict:
    """``model.json``, checked: arch (str), arch_kwargs (object), classes (list of str)."""
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{MODEL_CONFIG_FILE} is not readable JSON ({exc})") from None
    expected = {"arch": str, "arch_kwargs": dict, "classes": list}
    for key, kind in expected.items():
        if not isinstance(config, dict) or key not in config:
            raise ValueError(f"{MODEL_CONFIG_FILE}: missing field {key!r}")
        if not isinstance(config[key], kind):
            raise ValueError(f"{MODEL_CONFIG_FILE}: field {key!r} must be a JSON {kind.__name__}")
    if not config["classes"] or not all(isinstance(c, str) for c in config["classes"]):
        raise ValueError(f"{MODEL_CONFIG_FILE}: field 'classes' must list class names")
    return config


def input_statistics(model: nn.Module) -> dict:
    """``{"mean", "std"}`` of the model's :class:`Normalize` layer (``{}`` when it has none)."""
    layer = next((m for m in model.modules() if isinstance(m, Normalize)), None)
    return {} if layer is None else {"mean": layer.mean, "std": layer.std}


def _check_weights(weights: Path, config: dict) -> dict:
    """Compare the safetensors header with the model's shapes, allocating no weights; returns
    the model's arguments (an old checkpoint's input statistics filled in: :data:`LEGACY_MEAN`)."""
    kwargs = dict(config["arch_kwargs"])
    try:
        with torch.device("meta"):
            skeleton = create_model(config["arch"], **kwargs)
        if input_statistics(skeleton) and not {"mean", "std"} <= set(kwargs):
            kwargs = {"mean": LEGACY_MEAN, "std": LEGACY_STD, **kwargs}
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(
            f"{MODEL_CONFIG_FILE}: cannot build {config['arch']!r} with arch_kwargs "
            f"{config['arch_kwargs']} ({exc})"
        ) from None
    tensors = skeleton.state_dict()
    expected = {k: tuple(v.shape) for k, v in tensors.items()}
    with safe_open(str(weights), framework="pt") as f:
        slices = {k: f.get_slice(k) for k in f.keys()}  # noqa: SIM118
        saved = {k: tuple(v.get_shape()) for k, v in slices.items()}
        dtypes = {k: v.get_dtype() for k, v in slices.items()}
    problems = [f"missing {k}" for k in expected if k not in saved]
    problems += [f"unexpected {k}" for k in saved if k not in expected]
    problems += [
        f"{k} is {'×'.join(map(str, saved[k]))}, the model needs {'×'.join(map(str, shape))}"
        for k, shape in expected.items()
        if k in saved and saved[k] != shape
    ]
    problems += [
        f"{k} is stored as {dtypes[k]}, the model needs {_dtype_name(tensor.dtype)}"
        for k, tensor in tensors.items()
        if k in dtypes and dtypes[k] != _dtype_name(tensor.dtype)
    ]
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(
            f"{WEIGHTS_FILE} does not fit {config['arch']!r} with arch_kwargs "
            f"{config['arch_kwargs']}: {'; '.join(problems[:3])}{more}"
        )
    return kwargs


_DTYPE_NAMES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def _dtype_name(dtype: torch.dtype) -> str:
    """The safetensors header's name of ``dtype`` (``torch.float32`` → ``F32``)."""
    return _DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))


def _check_finite(state: dict[str, torch.Tensor]) -> None:
    """Raise :class:`ValueError` naming the first tensor holding NaN or infinity."""
    damaged = []
    for name, tensor in state.items():
        if tensor.is_floating_point():
            count = int((~torch.isfinite(tensor)).sum())
            if count:
                damaged.append((name, count, tensor.numel()))
    if damaged:
        name, count, total = damaged[0]
        others = len(damaged) - 1
        more = f" (and {others} more tensor{'s' * (others > 1)})" if others else ""
        raise ValueError(
            f"{WEIGHTS_FILE}: {name} holds {count:,} non-finite values (NaN or infinity) of "
            f"{total:,}{more}; the weights are damaged (did the training diverge?)"
        )


# Constructor arguments that change no feature layer: a warm start may differ in them.
HEAD_ONLY_KWARGS = frozenset({"num_classes", "aux_classes", "dropout", "mean", "std"})


def warm_start(
    model: nn.Module, arch: str, arch_kwargs: dict, source: Checkpoint | str | Path
) -> list[str]:
    """Copy into ``model`` (built as ``arch(**arch_kwargs)``) the weights of ``source``, a
    loaded checkpoint or the path of one (or of a run directory): every tensor of the same name
    and shape, so a head for other classes keeps its fresh initialisation. The checkpoint must
    be the same architecture with the same feature layers (arguments outside
    :data:`HEAD_ONLY_KWARGS` equal); returns the names of the tensors left as initialised."""
    if isinstance(source, Checkpoint):
        check_warm_start_fits(source, arch, arch_kwargs)
    else:
        source = warm_start_source(arch, arch_kwargs, source)
    saved = source.model.state_dict()
    target = model.state_dict()
    fits = {k: v for k, v in saved.items() if k in target and target[k].shape == v.shape}
    model.load_state_dict(fits, strict=False)
    return [k for k in target if k not in fits]


def warm_start_source(arch: str, arch_kwargs: dict, path: str | Path) -> Checkpoint:
    """The checkpoint at ``path``, checked to fit a warm start of ``arch(**arch_kwargs)``:
    the same architecture, arguments outside :data:`HEAD_ONLY_KWARGS` equal (else ValueError)."""
    source = load_checkpoint(path)
    check_warm_start_fits(source, arch, arch_kwargs)
    return source


def check_warm_start_fits(source: Checkpoint, arch: str, arch_kwargs: dict) -> None:
    """Raise ValueError unless ``source`` is ``arch`` with the same arguments outside
    :data:`HEAD_ONLY_KWARGS`."""
    theirs = {k: v for k, v in source.config["arch_kwargs"].items() if k not in HEAD_ONLY_KWARGS}
    ours = {k: v for k, v in arch_kwargs.items() if k not in HEAD_ONLY_KWARGS}
    if source.config["arch"] != arch or _normalised(theirs) != _normalised(ours):
        raise ValueError(
            f"checkpoint {source.path}: a warm start needs {arch!r} with arguments {ours}; "
            f"it is {source.config['arch']!r} with {theirs}"
        )


def _normalised(kwargs: dict) -> dict:
    """JSON round trip, so tuples and lists of a model's arguments compare equal."""
    return json.loads(json.dumps(kwargs))
