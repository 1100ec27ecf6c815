"""Work in latent space: encode datasets, decode codes, export coordinates."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from aecore.data import Split
from aecore.models.base import AutoEncoder

ENCODE_BATCH_SIZE = 1024


def encode_split(model: AutoEncoder, split: Split, batch_size: int = ENCODE_BATCH_SIZE) -> np.ndarray:
    """Deterministic codes (the mean for a VAE) of every image of ``split``: (N, L) float32."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(split), batch_size):
            chunks.append(model.encode(split.x[start:start + batch_size].to(device)).float().cpu())
    model.train(was_training)
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, model.latent_dim), dtype=np.float32)


def write_latent_csv(path: str | Path, codes: np.ndarray, labels: np.ndarray,
                     class_names: tuple[str, ...] = ()) -> Path:
    """CSV with columns index, label, class, z0..z{L-1} (lecture 000's file for Tableau)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "label", "class", *(f"z{j}" for j in range(codes.shape[1]))])
        for index, (label, code) in enumerate(zip(labels.tolist(), codes, strict=True)):
            name = class_names[label] if 0 <= label < len(class_names) else str(label)
            writer.writerow([index, label, name, *(f"{value:.6g}" for value in code)])
    return path
