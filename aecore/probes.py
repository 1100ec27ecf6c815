"""What the codes know about the labels: linear probes and semi-supervised fine-tuning.

Lecture 002 (c) puts a softmax classifier on a trained code; lecture 001 tells
the pre-training story: with only a few labels, an encoder pre-trained as an
autoencoder on all the (unlabelled) images beats the same network trained from
scratch on the labelled few.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from aecore.config import ModelConfig
from aecore.data import Split
from aecore.models import build_model
from aecore.models.base import AutoEncoder, evaluating


def linear_probe_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                          test_labels: np.ndarray, seed: int = 0) -> float:
    """Test accuracy of a softmax (multinomial logistic) classifier trained on frozen codes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    probe.fit(train_codes, train_labels)
    return float(probe.score(test_codes, test_labels))


def labelled_subset(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` seeded examples of every class present in ``labels``."""
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen)


class CodeClassifier(nn.Module):
    """An autoencoder's encoder (up to its code; the mean for a VAE), the code standardised with
    statistics of unlabelled images, then a softmax layer."""

    def __init__(self, autoencoder: AutoEncoder, classes: int, unlabelled: torch.Tensor) -> None:
        super().__init__()
        self.encoder = autoencoder
        with evaluating(autoencoder), torch.no_grad():
            codes = autoencoder.encode(unlabelled)  # (N, L)
        self.register_buffer("code_mean", codes.mean(dim=0))
        self.register_buffer("code_std", codes.std(dim=0).clamp_min(1e-6))
        self.head = nn.Linear(autoencoder.latent_dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((self.encoder.encode(x) - self.code_mean) / self.code_std)  # (B, classes) logits


def train_classifier(autoencoder: AutoEncoder, train: Split, classes: int, unlabelled: torch.Tensor, *,
                     epochs: int = 50, lr: float = 1e-3, encoder_lr_factor: float = 1.0, batch_size: int = 64,
                     seed: int = 0) -> CodeClassifier:
    """Train a softmax layer, and the encoder (a copy) at ``encoder_lr_factor`` times its learning rate
    (0 freezes it), on the labelled ``train`` split."""
    torch.manual_seed(seed)
    classifier = CodeClassifier(copy.deepcopy(autoencoder), classes, unlabelled)
    classifier.train()
    groups = [{"params": classifier.head.parameters(), "lr": lr}]
    if encoder_lr_factor > 0:
        groups.append({"params": classifier.encoder.parameters(), "lr": lr * encoder_lr_factor})
    else:
        classifier.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(train), generator=generator)
        for start in range(0, len(train), batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(classifier(train.x[batch]), train.y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return classifier.eval()


def accuracy(classifier: CodeClassifier, split: Split, batch_size: int = 1024) -> float:
    """Share of ``split`` classified correctly."""
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(split), batch_size):
            logits = classifier(split.x[start:start + batch_size])
            correct += int((logits.argmax(dim=1) == split.y[start:start + batch_size]).sum())
    return correct / max(1, len(split))


def pretraining_comparison(pretrained: AutoEncoder, untrained: AutoEncoder, train: Split, test: Split,
                           per_class: int, *, epochs: int = 300, seed: int = 0) -> dict[str, float]:
    """Test accuracy with only ``per_class`` labels per class, three ways: a softmax on the frozen
    pre-trained code, the pre-trained encoder fine-tuned gently (a tenth of the head's learning rate),
    and the same architecture trained from scratch."""
    labelled = labelled_subset(train.y, per_class, seed)
    few = Split(train.x[labelled], train.y[labelled])
    classes = int(max(train.y.max(), test.y.max())) + 1
    arms = (("pre-trained code, frozen", pretrained, 0.0), ("pre-trained, fine-tuned", pretrained, 0.1),
            ("from scratch", untrained, 1.0))
    return {name: accuracy(train_classifier(start, few, classes, train.x, epochs=epochs, encoder_lr_factor=factor,
                                            seed=seed), test)
            for name, start, factor in arms}


def pretraining_against_scratch(pretrained: AutoEncoder, model_config: ModelConfig, train: Split, test: Split,
                                per_class: int, *, epochs: int = 300, seed: int = 0) -> dict[str, float]:
    """:func:`pretraining_comparison` against a fresh, untrained copy of ``pretrained``'s architecture
    (``model_config``) initialised from ``seed``; the caller's global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        untrained = build_model(model_config, pretrained.input_shape)
        return pretraining_comparison(pretrained, untrained, train, test, per_class, epochs=epochs, seed=seed)
