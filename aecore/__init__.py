"""aecore: the autoencoder engine behind Autoencoder Lab.

Modules: ``config`` (validated run configs), ``registry`` and ``models``
(architectures), ``objectives`` (losses, corruption, sparsity, KL), ``data``
(offline datasets), ``training`` (``fit`` yielding ``events``),
``checkpoints`` (run folders), ``presets`` (the lectures' models as configs),
``layers`` (layer tables), ``latent`` and ``viz``; ``python -m aecore`` is the CLI.
Importing aecore reads nothing from disk and never touches the network.
"""

__version__ = "0.1.0"
