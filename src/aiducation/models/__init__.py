"""Model registry and architectures; importing this package registers every model."""

from aiducation.models import efficient, seed_family  # noqa: F401  (registers the models)
from aiducation.models.registry import (
    ModelFamily,
    count_parameters,
    create_model,
    describe_families,
    has_aux_head,
    is_model,
    list_families,
    list_family_examples,
    list_models,
    register_model,
)

DEFAULT_MODEL = "faceresnet_s"

__all__ = [
    "DEFAULT_MODEL",
    "ModelFamily",
    "count_parameters",
    "create_model",
    "describe_families",
    "has_aux_head",
    "is_model",
    "list_families",
    "list_family_examples",
    "list_models",
    "register_model",
]
