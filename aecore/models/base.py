"""The interface every autoencoder in aecore implements.

An architecture supplies two pieces: an *encoder body* mapping images
(B, C, H, W) to features (B, F), and a *decoder* mapping codes (B, L) back to
images (B, C, H, W). This base class adds the code head between them: a
Linear(F, L) with the code activation for a plain autoencoder, or a
Linear(F, 2L) giving mean and log-variance for a variational one (Kingma &
Welling 2014), with the reparameterisation trick while training.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from aecore.config import ModelConfig
from aecore.errors import AecoreError

# Log-variances are clamped so that exp() can neither overflow nor vanish.
LOGVAR_RANGE = (-30.0, 20.0)


def activation_layer(name: str) -> nn.Module:
    """The nn.Module for an activation name of :data:`aecore.config.ACTIVATIONS` (plus "linear")."""
    layers = {
        "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
        "leaky_relu": lambda: nn.LeakyReLU(0.2), "linear": nn.Identity,
    }
    return layers[name]()


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and give it back in the mode it was in.

    Code that only reads a model (encoding, scoring, pictures) uses this rather than
    calling ``model.eval()``, so it never changes the mode of a model it was handed.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@dataclass(frozen=True)
class AEOutput:
    """What :meth:`AutoEncoder.forward` returns."""

    recon: torch.Tensor  # (B, C, H, W)
    code: torch.Tensor  # (B, L): the code the decoder saw (a sample z for a VAE while training)
    mu: torch.Tensor | None = None  # (B, L), VAE only
    logvar: torch.Tensor | None = None  # (B, L), VAE only


class AutoEncoder(nn.Module):
    """Encoder body -> code head -> decoder, plain or variational."""

    def __init__(self, config: ModelConfig, input_shape: tuple[int, int, int],
                 encoder_body: nn.Module, feature_dim: int, decoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.input_shape = tuple(input_shape)
        self.latent_dim = config.latent_dim
        self.variational = config.variational
        self.encoder_body = encoder_body
        head_width = 2 * config.latent_dim if config.variational else config.latent_dim
        self.to_code = nn.Linear(feature_dim, head_width)
        self.code_activation = activation_layer(config.code_activation)
        self.decoder = decoder
        if config.init_std is not None:
            self._init_normal(config.init_std)

    def _init_normal(self, std: float) -> None:
        # Lecture 003: weights ~ N(0, std), biases zero.
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    @functools.cached_property
    def output_shape(self) -> tuple[int, ...]:
        """The decoder's output shape (C, H, W), found by decoding one code on first use.

        Lazy: a model built on PyTorch's meta device only to count its weights runs no forward there
        (the first meta forward of a process imports sympy and torch._dynamo, about 2 s).
        """
        with torch.no_grad(), evaluating(self):  # BatchNorm refuses a batch of one while training
            probe = torch.zeros(1, self.latent_dim, device=self.to_code.weight.device)
            return tuple(self.decoder(probe).shape[1:])

    def shape_hint(self) -> str:
        """How to fix an input shape this architecture cannot reproduce (overridden per arch)."""
        return "choose an input size this architecture can reproduce"

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mu, logvar) of q(z|x) for a VAE; (code, None) for a plain autoencoder."""
        head = self.to_code(self.encoder_body(x))  # (B, L) or (B, 2L)
        if not self.variational:
            return self.code_activation(head), None
        mu, logvar = head.chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic code of ``x`` (B, C, H, W) -> (B, L); the mean for a VAE."""
        return self.encode_distribution(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decode codes (B, L) into images (B, C, H, W)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> AEOutput:
        mu, logvar = self.encode_distribution(x)
        if logvar is None:
            return AEOutput(recon=self.decoder(mu), code=mu)
        # reparameterisation trick while training; the mean in eval mode
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return AEOutput(recon=self.decoder(z), code=z, mu=mu, logvar=logvar)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions of ``x`` (B, C, H, W), whatever mode the model is in."""
        return self.forward(x).recon

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from the prior N(0, I): (n, C, H, W). VAEs only."""
        if not self.variational:
            raise AecoreError("only a variational autoencoder has a prior to sample from; "
                              "for a plain autoencoder decode chosen codes plus noise instead")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.decode(z)
