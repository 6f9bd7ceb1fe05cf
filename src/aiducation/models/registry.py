"""Model registry in the spirit of timm: ``@register_model``, ``create_model``, ``list_models``.

Every registered model takes a float tensor ``(B, 1, 48, 48)`` with pixel values in ``[0, 1]``
and returns logits ``(B, num_classes)``; input normalisation happens inside the model so a
checkpoint is usable without knowing how it was trained.

Besides fixed names, a *family* can claim names by pattern (e.g. ``B16_N8_FC2_K5_AP20``):
register a parser with :func:`register_family`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

ModelFactory = Callable[..., nn.Module]
FamilyParser = Callable[[str], dict | None]

_MODELS: dict[str, ModelFactory] = {}
_FAMILIES: list[tuple[str, FamilyParser, ModelFactory]] = []
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
    example: str, parse: FamilyParser, factory: ModelFactory, *, aux_head: bool = False
) -> None:
    """Register a family whose names ``parse`` turns into keyword arguments for ``factory``."""
    _FAMILIES.append((example, parse, factory))
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
    examples = ", ".join(list_models() + [ex for ex, _, _ in _FAMILIES])
    raise ValueError(f"unknown model {name!r}; known: {examples}")


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
    return [example for example, _, _ in _FAMILIES]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
