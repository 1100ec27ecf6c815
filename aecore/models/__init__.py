"""Autoencoder architectures. Importing this package registers the built-in ones."""

from aecore.models import conv, mlp  # noqa: F401  (registration side effect)
from aecore.models.base import AEOutput, AutoEncoder

__all__ = ["AEOutput", "AutoEncoder"]
