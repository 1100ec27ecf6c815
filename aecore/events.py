"""The typed events :func:`aecore.training.fit` yields.

The CLI prints them, the dashboard's job manager stores them for the live
page, and tests assert on them. Loss values are plain floats and images are
numpy arrays of display pixels in [0, 1], so an event can cross threads and be
drawn without touching the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecore.config import RunConfig

Losses = dict[str, float]  # part name -> value, "total" always present


@dataclass(frozen=True)
class Started:
    config: RunConfig
    start_epoch: int  # epochs already done before this call (0 for a new run)
    epochs: int  # the epoch count this call trains up to
    steps_per_epoch: int
    n_train: int
    n_val: int
    device: str  # "cpu", "cuda:0", ...
    device_name: str  # human-readable, e.g. the GPU's name
    layerwise_losses: tuple[float, ...] = ()  # each layer pair's MSE after greedy pre-training, if any
    class_names: tuple[str, ...] = ()  # the names of the dataset's labels
    start_batch: int = 0  # batches of epoch start_epoch + 1 done before this call (a run stopped mid-epoch)
    seconds_before: float = 0.0  # seconds trained before this call


@dataclass(frozen=True)
class Preview:
    """Fixed training and test images beside their current reconstructions: (n, C, H, W) in [0, 1],
    and the current codes of a fixed sample of test images, for a latent map that moves as it learns."""

    train_inputs: np.ndarray
    train_recons: np.ndarray
    test_inputs: np.ndarray
    test_recons: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    codes: np.ndarray  # (m, L) deterministic codes (means for a VAE)
    code_labels: np.ndarray  # (m,)


@dataclass(frozen=True)
class Step:
    epoch: int  # 1-based number of the epoch in progress
    batch: int  # 1-based batch number within the epoch
    step: int  # optimiser steps taken since the run began
    losses: Losses
    preview: Preview | None = None  # about once a second, so pictures move within long epochs


@dataclass(frozen=True)
class Epoch:
    epoch: int  # 1-based number of the epoch just finished
    step: int
    train: Losses  # means over the epoch's batches (with corruption, as optimised)
    val: Losses  # on the validation split, clean inputs; empty when there is no validation split
    seconds: float
    preview: Preview | None  # None when a preview was sent less than PREVIEW_INTERVAL_S ago (the last has one)


@dataclass(frozen=True)
class CheckpointSaved:
    epoch: int
    path: str


@dataclass(frozen=True)
class Finished:
    epoch: int  # epochs completed
    step: int
    stopped: bool  # True when a stop request ended the run early
    train: Losses  # the last finished epoch's losses (empty if none finished)
    val: Losses
    seconds: float  # trained over the whole run, every call
    batch: int = 0  # batches done in the epoch a stop interrupted


@dataclass(frozen=True)
class Failed:
    epoch: int  # epochs completed; the model keeps the weights from the end of that epoch
    step: int
    message: str


Event = Started | Step | Epoch | CheckpointSaved | Finished | Failed
