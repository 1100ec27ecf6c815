"""Autoencoder architectures and their registry.

As in torchvision, this package imports the built-in architectures (each registers itself with
``@register_model``) and then re-exports the registry's API, so ``from aecore.models import
build_model`` always sees every architecture.
"""

from aecore.models import conv, mlp  # noqa: F401  (registration side effect)
from aecore.models._api import build_model, get_model_builder, list_models, register_model
from aecore.models.base import AEOutput, AutoEncoder, evaluating

__all__ = ["AEOutput", "AutoEncoder", "build_model", "evaluating", "get_model_builder", "list_models",
           "register_model"]
