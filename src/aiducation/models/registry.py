"""Model registry in the spirit of timm: ``@register_model``, ``create_model``, ``list_models``,
``list_families``.

Every registered model takes a float tensor ``(B, 1, 48, 48)`` with pixel values in ``[0, 1]``
and returns logits ``(B, num_classes)``; input normalisation happens inside the model so a
checkpoint is usable without knowing how it was trained.

Besides fixed names, a *family* can claim names by pattern (e.g. ``B16_N8_FC2_K5_AP20``):
register a parser with :func:`register_family`. :func:`list_models` gives the fixed names;
:func:`list_families` gives every family with the pattern of the names it accepts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

ModelFactory = Callable[..., nn.Module]
FamilyParser = Callable[[str], dict | None]

_MODELS: dict[str, ModelFactory] = {}
_FAMILIES: list[tuple[str, FamilyParser, ModelFactory]] = []
_FAMILY_PATTERNS: dict[str, str] = {}  # example -> name pattern shown to users
_AUX_HEAD: set[ModelFactory] = set()  # factories that take ``aux_classes`` (a second head)


def register_model(
    fn: ModelFactory | None = None, *, aux_head: bool = False
) -> ModelFactory | Callable[[ModelFactory], ModelFactory]:
    """Decorator: register ``fn`` under its own name (``@register_model`` or, for a model that
    can grow an auxiliary head with ``aux_classes`` and ``forward_with_aux``,
    ``@register_model(aux_head=True)``)."""

    def register(factory: ModelFactory) -> ModelFactory:
        _MODELS[factory.__name__] = factory
        if aux_head:
            _AUX_HEAD.add(factory)
        return factory

    return register(fn) if fn is not None else register


def register_family(
    example: str,
    parse: FamilyParser,
    factory: ModelFactory,
    *,
    pattern: str | None = None,
    aux_head: bool = False,
) -> None:
    """Register a family whose names ``parse`` turns into keyword arguments for ``factory``;
    ``pattern`` is the form of its names shown to users (e.g. ``B{c}_N{n}_FC{fc}_K{k}_AP{p}``),
    ``example`` one name it accepts."""
    _FAMILIES.append((example, parse, factory))
    _FAMILY_PATTERNS[example] = pattern or example
    if aux_head:
        _AUX_HEAD.add(factory)


def has_aux_head(name: str) -> bool:
    """Whether model ``name`` can be built with an auxiliary head (``aux_classes``)."""
    return _resolve(name)[0] in _AUX_HEAD


def _resolve(name: str) -> tuple[ModelFactory, dict]:
    if name in _MODELS:
        return _MODELS[name], {}
    for _, parse, factory in _FAMILIES:
        kwargs = parse(name)
        if kwargs is not None:
            return factory, kwargs
    raise ValueError(f"unknown model {name!r}; known: {describe_families()}")


def is_model(name: str) -> bool:
    try:
        _resolve(name)
    except ValueError:
        return False
    return True


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the model called ``name``; ``kwargs`` override the name's defaults."""
    factory, defaults = _resolve(name)
    return factory(**{**defaults, **kwargs})


def list_models() -> list[str]:
    """Names of the registered fixed-name models (families are matched by pattern)."""
    return sorted(_MODELS)


def list_family_examples() -> list[str]:
    """One example name per pattern family (e.g. ``B16_N8_FC2_K5_AP20``)."""
    return [example for example, _, _ in _FAMILIES]


@dataclass(frozen=True)
class ModelFamily:
    """A group of models ``create_model`` accepts: ``pattern`` is the form of its names
    (``faceresnet_{m,s,t}``, ``B{c}_N{n}_FC{fc}_K{k}_AP{p}``), ``names`` its fixed names (empty
    for a family matched by pattern), ``example`` one accepted name, ``description`` the first
    line of its documentation."""

    pattern: str
    names: tuple[str, ...]
    example: str
    description: str


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0].strip()


def list_families() -> list[ModelFamily]:
    """Every model family: fixed names grouped by the module that registers them (one pattern
    such as ``faceresnet_{m,s,t}``), then each pattern family with its pattern."""
    groups: dict[str, list[str]] = {}
    for name, factory in _MODELS.items():
        groups.setdefault(factory.__module__, []).append(name)
    families = []
    for module, names in groups.items():
        names = sorted(names)
        prefix = _common_prefix(names)
        pattern = (
            f"{prefix}{{{','.join(n[len(prefix) :] for n in names)}}}"
            if len(names) > 1 and prefix
            else ", ".join(names)
        )
        mod = sys.modules.get(module)
        families.append(
            ModelFamily(pattern, tuple(names), names[0], _first_line(getattr(mod, "__doc__", "")))
        )
    for example, _, factory in _FAMILIES:
        mod = sys.modules.get(factory.__module__)
        doc = _first_line(getattr(mod, "__doc__", "")) or _first_line(factory.__doc__)
        families.append(ModelFamily(_FAMILY_PATTERNS[example], (), example, doc))
    return families


def _common_prefix(names: list[str]) -> str:
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def describe_families() -> str:
    """One line naming every accepted name, for error messages and help texts:
    ``faceresnet_m, faceresnet_s, faceresnet_t; B{c}_N{n}_FC{fc}_K{k}_AP{p} (e.g. B16_N8_...)``."""
    return "; ".join(
        ", ".join(f.names) if f.names else f"{f.pattern} (e.g. {f.example})"
        for f in list_families()
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
