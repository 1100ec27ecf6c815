"""Slow motion: training one batch at a time, with a snapshot of what the model makes of a fixed sample after each step.

A :class:`SlowMotion` owns a fresh model and optimiser built from a
:class:`~aecore.config.RunConfig` (as :meth:`TrainingState.create` builds them) and
walks the training split in the batches :func:`aecore.training.fit` would take:
the same seeded order per epoch, the same :class:`~aecore.objectives.Objective`
(denoising corruption, sparsity, the VAE's KL) and the same seeded noise, so its
step n leaves the weights fit()'s step n leaves (greedy layer-wise pre-training
is not run). Each :meth:`SlowMotion.step` takes one optimiser step and records a
:class:`Snapshot`: the batch's loss parts, the gradient norm of each layer, the
reconstructions of a few fixed test images and the map positions of a fixed
sample of test codes. The last :data:`KEEP` snapshots are kept, oldest dropped.

The map does not jump between steps: 2-D codes are drawn as they are, larger
ones on one PCA plane fitted once (on the untrained model's codes, or again on
request with :meth:`SlowMotion.refit_map`), a 1-D code against its class.

It runs in the dashboard's own process (a step is milliseconds, unlike a run),
so it is paced. Measured on this project's 2-core server with torch's default 2
threads, other work running: the default MLP AE (784-512-256-32) on MNIST, batch
128, takes 15-20 ms per step and snapshot (about 6 ms of it the 8 reconstructions
and 500 codes), and the page's redraw around it 20-40 ms (Plotly figures took 100
ms, hence Vega-Lite). A session plays at most :data:`RATES`' 4 steps a second,
and all sessions together at most :data:`SERVER_STEPS_PER_S` = 10 (:class:`Pacer`
shares them out: 30 students playing each step every 3 s), about 0.5 s of CPU a
second at worst: the server stays responsive. :data:`STEP_LOCK` runs one step at
a time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from aecore.config import RunConfig
from aecore.data import Dataset
from aecore.errors import AecoreError
from aecore.latent import LatentPlane, encode_images
from aecore.latent_map import bounds_of
from aecore.models import evaluating
from aecore.objectives import Objective
from aecore.pixels import to_pixels
from aecore.projection import sample_indices
from aecore.training import TrainingState

KEEP = 50  # snapshots kept to step back through
IMAGE_COUNT = 8  # fixed test images reconstructed after every step
MAP_POINTS = 500  # fixed test images whose codes the map shows
RATES = (0.5, 1.0, 2.0, 4.0)  # steps a second offered for playing
SERVER_STEPS_PER_S = 10  # played steps a second of all sessions together (see the module's docstring)
PLAYER_TIMEOUT_S = 10.0  # a player not heard of for this long no longer counts
STEP_LOCK = threading.Lock()  # one slow-motion step at a time in the whole process, whichever session asks
_PARTS = {"encoder_body": "enc", "to_code": "code", "decoder": "dec"}


@dataclass(frozen=True)
class Snapshot:
    """What the model looked like right after one step (step 0: before any)."""

    step: int  # optimiser steps taken
    epoch: int  # the epoch of the step's batch (1 = the first pass over the training images); 0 at step 0
    batch: int  # the batch's number in its epoch; 0 at step 0
    losses: dict[str, float]  # the batch's loss parts before the step ({} at step 0), "total" first
    gradient_norms: np.ndarray  # (layers,) L2 norm of each layer's gradient on the batch (empty at step 0)
    recons: np.ndarray  # (IMAGE_COUNT, C, H, W) pixels in [0, 1] of the fixed test images' reconstructions
    points: np.ndarray  # (MAP_POINTS, 2) map positions of the fixed test codes
    map_fitted_at: int  # the step whose codes the map's plane was fitted on


class Pacer:
    """Shares :data:`SERVER_STEPS_PER_S` among the sessions that play: each steps at its chosen rate while the
    total fits, and all slow down alike beyond (30 players: one step every 3 s each). Thread-safe."""

    def __init__(self, steps_per_s: float = SERVER_STEPS_PER_S, timeout_s: float = PLAYER_TIMEOUT_S) -> None:
        self.steps_per_s, self.timeout_s = steps_per_s, timeout_s
        self._seen: dict[object, float] = {}  # player -> time.monotonic() it last asked
        self._lock = threading.Lock()

    def interval(self, player: object, rate: float, now: float | None = None) -> float:
        """Seconds between ``player``'s steps at ``rate`` steps a second, counting it as playing."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._seen[player] = now
            for other in [p for p, seen in self._seen.items() if now - seen > self.timeout_s]:
                del self._seen[other]
            players = len(self._seen)
        return max(1.0 / rate, players / self.steps_per_s)

    def leave(self, player: object) -> None:
        """``player`` stopped playing."""
        with self._lock:
            self._seen.pop(player, None)

    @property
    def players(self) -> int:
        with self._lock:
            return len(self._seen)


PACER = Pacer()  # the whole process's


def layer_label(name: str, module: nn.Module) -> str:
    """A short name for a layer: its part of the network and shape, e.g. "enc 784→512", "dec conv 64→32"."""
    part = _PARTS.get(name.split(".")[0], name.split(".")[0])
    if isinstance(module, nn.Linear):
        return f"{part} {module.in_features}→{module.out_features}"
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        return f"{part} conv {module.in_channels}→{module.out_channels}"
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"{part} BN {module.num_features}"
    return f"{part} {type(module).__name__}"


def spread_indices(labels: np.ndarray, count: int) -> np.ndarray:
    """``count`` image rows taking each class in turn (the first image of each class, then the second...), in
    class order; fewer when there are fewer images."""
    by_class = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    chosen: list[int] = []
    for nth in range(max((len(rows) for rows in by_class), default=0)):
        chosen += [int(rows[nth]) for rows in by_class if nth < len(rows)]
        if len(chosen) >= count:
            break
    return np.array(chosen[:count], dtype=np.int64)


def _unique(names: list[str]) -> tuple[str, ...]:
    """The names with " (2)", " (3)"... added to repeats, so that a chart keeps one bar each."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return tuple(unique)


def map_bounds(snapshots: tuple[Snapshot, ...] | list[Snapshot]) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) around every snapshot's map: axes that stay put while stepping through them."""
    boxes = np.array([bounds_of(snapshot.points) for snapshot in snapshots])  # (S, 4)
    return float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()), float(boxes[:, 3].max())


class SlowMotion:
    """One run trained a batch at a time, keeping a :class:`Snapshot` of the last ``keep`` steps.

    Built from ``config`` and its ``dataset`` (as :func:`aecore.data.load_dataset` makes it),
    on the CPU; the untrained model's snapshot (step 0) is the first.
    """

    def __init__(self, config: RunConfig, dataset: Dataset, *, keep: int = KEEP, image_count: int = IMAGE_COUNT,
                 map_points: int = MAP_POINTS) -> None:
        if len(dataset.train) == 0 or len(dataset.test) == 0:
            raise AecoreError(f"{dataset.name} has no training or no test images to show")
        self.config = config
        self.dataset = dataset.to("cpu")
        self._state = TrainingState.create(config, dataset.input_shape, "cpu", class_names=dataset.class_names)
        self.model = self._state.model
        self.optimizer = self._state.optimizer
        self.objective = Objective(config.objective, self.dataset.value_range)
        self._noise = torch.Generator().manual_seed(config.train.seed)
        self._order = torch.zeros(0, dtype=torch.long)
        self.epoch, self.batch = 0, 0  # the last step's epoch and batch
        self.steps_per_epoch = math.ceil(len(self.dataset.train) / config.train.batch_size)
        test_labels = self.dataset.test.y.cpu().numpy()
        image_rows = spread_indices(test_labels, image_count)
        self.image_labels = test_labels[image_rows]
        self._image_inputs = self.dataset.test.x[image_rows]  # (K, C, H, W) model space
        self.images = to_pixels(self.dataset.normalizer, self._image_inputs)  # (K, C, H, W) pixels
        map_rows = sample_indices(len(self.dataset.test), map_points, seed=config.train.seed)
        self.map_labels = test_labels[map_rows]
        self._map_inputs = self.dataset.test.x[map_rows]
        self.layers: list[tuple[str, nn.Module]] = [
            (name, module) for name, module in self.model.named_modules()
            if any(True for _ in module.parameters(recurse=False))]
        self.layer_names = _unique([layer_label(name, module) for name, module in self.layers])
        self._plane: LatentPlane | None = None
        self._plane_step = 0
        self._snapshots: deque[Snapshot] = deque(maxlen=keep)
        self.last_step_at = -math.inf  # time.monotonic() of the last step
        self._snapshots.append(self._snapshot({}, np.zeros(0)))

    @property
    def step_count(self) -> int:
        """Optimiser steps taken."""
        return self._state.step

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        """The kept snapshots, oldest first."""
        return tuple(self._snapshots)

    @property
    def latest(self) -> Snapshot:
        return self._snapshots[-1]

    @property
    def axis_labels(self) -> tuple[str, str]:
        """The map's axes: "z0", "z1" for 2-D codes, the principal components for larger ones."""
        if self.model.latent_dim == 1:
            return "z0", "class"
        return (self._plane.label_u, self._plane.label_v) if self._plane is not None else ("z0", "z1")

    def snapshot_at(self, step: int) -> Snapshot:
        """The kept snapshot of ``step``; a KeyError when it is not (or no longer) kept."""
        for snapshot in self._snapshots:
            if snapshot.step == step:
                return snapshot
        raise KeyError(f"step {step} is not among the last {len(self._snapshots)} kept")

    def step(self) -> Snapshot:
        """Train on the next batch (one optimiser step), record its snapshot and return it.

        A non-finite loss raises an AecoreError and leaves the weights as they were.
        """
        with STEP_LOCK:
            x = self._next_batch()  # (B, C, H, W)
            if not self.model.training:
                self.model.train()
            loss, parts = self.objective(self.model, x, training=True, generator=self._noise)
            losses = dict(zip(parts, torch.stack(list(parts.values())).tolist(), strict=True))  # one sync
            if not math.isfinite(losses["total"]):
                lr = self.config.train.lr
                raise AecoreError(f"the loss became {losses['total']} at step {self.step_count + 1}: training "
                                  f"diverged. Reset and try a lower learning rate than {lr:g} (e.g. {lr / 10:g}).")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norms = self._gradient_norms()
            self.optimizer.step()
            self._state.step += 1
            snapshot = self._snapshot(losses, norms)
            self._snapshots.append(snapshot)
            self.last_step_at = time.monotonic()
            return snapshot

    def refit_map(self) -> None:
        """Fit the map's PCA plane again, on the codes of now: the latest snapshot and the next ones use it (older
        ones keep theirs, and say which step their plane was fitted at)."""
        with STEP_LOCK:
            self._plane, self._plane_step = None, self.step_count
            points = self._map_points(encode_images(self.model, self._map_inputs))
            self._snapshots[-1] = replace(self._snapshots[-1], points=points, map_fitted_at=self.step_count)

    def _next_batch(self) -> torch.Tensor:
        """The next batch of fit()'s order: epoch e shuffles the training images with seed + e."""
        batch_size = self.config.train.batch_size
        if self.batch == 0 or self.batch >= self.steps_per_epoch:
            self.epoch, self.batch = self.epoch + 1, 0
            generator = torch.Generator().manual_seed(self.config.train.seed + self.epoch)
            self._order = torch.randperm(len(self.dataset.train), generator=generator)
        start = self.batch * batch_size
        self.batch += 1
        return self.dataset.train.x[self._order[start:start + batch_size]]

    def _gradient_norms(self) -> np.ndarray:
        """L2 norm of each layer's gradient, all its parameters together: (layers,)."""
        squares = []
        for _, module in self.layers:
            grads = [p.grad for p in module.parameters(recurse=False) if p.grad is not None]
            squares.append(sum(g.square().sum() for g in grads) if grads else torch.zeros(()))
        return torch.stack(squares).sqrt().numpy()

    def _snapshot(self, losses: dict[str, float], norms: np.ndarray) -> Snapshot:
        with evaluating(self.model), torch.inference_mode():
            recons = to_pixels(self.dataset.normalizer, self.model.reconstruct(self._image_inputs))
        codes = encode_images(self.model, self._map_inputs)  # (N, L)
        return Snapshot(self.step_count, self.epoch, self.batch, losses, norms, recons, self._map_points(codes),
                        self._plane_step)

    def _map_points(self, codes: np.ndarray) -> np.ndarray:
        """(N, 2) map positions of codes (N, L) on the plane fitted once (see the module's docstring)."""
        if codes.shape[1] == 1:
            return np.column_stack([codes[:, 0], self.map_labels]).astype(np.float32)
        if self._plane is None:
            self._plane = (LatentPlane.of_dimensions(codes) if codes.shape[1] == 2
                           else LatentPlane.of_principal_components(codes))
        return self._plane.project(codes).astype(np.float32)
