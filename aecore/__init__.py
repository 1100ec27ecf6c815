"""aecore: the autoencoder engine behind Autoencoder Lab.

Modules, bottom up: ``errors``, ``limits``, ``viz``; ``config`` (validated run
configs); ``settings`` (the one table of user settings); ``models`` (the
architectures and their registry); ``data`` (offline datasets); ``events``,
``objectives``, ``presets``; ``checkpoints`` (run folders); ``latent``,
``projection``, ``latent_map``, ``code_sample``, ``pixels``;
``greedy_pretraining``, ``training`` (``fit`` yielding ``events``);
``scoring``, ``diagnostics``, ``probes``, ``layer_table``, ``drawing``,
``image_report``, ``denoising``, ``labs``, ``describe``; ``uploads``;
``jobs`` (worker processes or Ray); ``sweep``; ``shipped``,
``retrain_shipped``; ``cli`` (``python -m aecore``). ``ui`` holds the
dashboard's side and is the only package that imports streamlit.
Importing aecore reads nothing from disk and never touches the network.
"""

__version__ = "0.1.0"
