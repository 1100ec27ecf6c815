"""Greedy layer-wise pre-training of a stacked MLP autoencoder (lecture 002; Bengio et al. 2007).

Each layer pair is first trained as a shallow autoencoder on the codes of the
layers below it; the stacked network starts from those weights and is then
fine-tuned end to end with :func:`aecore.training.fit`.
"""

from __future__ import annotations

import torch
from torch import nn

from aecore.errors import ConfigError
from aecore.models.base import AutoEncoder, activation_layer


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def greedy_pretrain(model: AutoEncoder, x: torch.Tensor, *, epochs: int = 5, lr: float = 1e-3,
                    batch_size: int = 128, seed: int = 0) -> list[float]:
    """Initialise ``model``'s encoder and decoder layers pair by pair; returns each shallow AE's final MSE.

    Only plain (non-variational) MLP autoencoders stack this way.
    """
    if model.config.arch != "mlp" or model.variational:
        raise ConfigError("greedy layer-wise pre-training needs a plain (non-variational) MLP autoencoder")
    encoders = [*_linears(model.encoder_body), model.to_code]  # D -> h1 -> ... -> L
    decoders = _linears(model.decoder)[::-1]  # mirrored: decoders[i] maps layer i+1 back to layer i
    activation = model.config.activation
    inputs = x.flatten(1).detach()  # (N, D)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for depth, (encoder, decoder) in enumerate(zip(encoders, decoders, strict=True)):
        is_code = depth == len(encoders) - 1
        hidden_activation = activation_layer(model.config.code_activation if is_code else activation)
        out_activation = activation_layer(model.config.output_activation if depth == 0 else activation)
        shallow = nn.Sequential(encoder, hidden_activation, decoder, out_activation)
        optimizer = torch.optim.Adam(shallow.parameters(), lr=lr)
        for _ in range(epochs):
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(inputs), batch_size):
                batch = inputs[order[start:start + batch_size]]
                loss = nn.functional.mse_loss(shallow(batch), batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            losses.append(float(nn.functional.mse_loss(shallow(inputs), inputs)))
            inputs = hidden_activation(encoder(inputs))  # the next pair learns to reconstruct these codes
    return losses
