"""The one training loop: ``fit(state, dataset) -> Iterator[Event]``.

A :class:`TrainingState` holds the model, its optimiser and the history of a
run. :func:`fit` trains it for more epochs and can be called again on the same
state to resume after a stop, with the same model and optimiser. Batches are
taken by indexing tensors that already live on the training device (or, for an
image folder over the memory budget, a :class:`aecore.image_stream.StreamedImages`
indexed the same way, which reads each batch from its cache).
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aecore.checkpoints import OPTIMIZER_FILE, PROGRESS_FILE, LoadedRun, replace_run_folder, save_run
from aecore.config import RunConfig, TrainConfig
from aecore.data import Dataset, Normalizer, Split, load_dataset
from aecore.errors import AecoreError, CheckpointError, ConfigError
from aecore.events import CheckpointSaved, Epoch, Event, Failed, Finished, Losses, Preview, Started, Step
from aecore.greedy_pretraining import greedy_pretrain
from aecore.models import AutoEncoder, build_model, evaluating
from aecore.objectives import Objective
from aecore.viz import stacked_rows, to_pil

EVAL_BATCH_SIZE = 1024
LATENT_SAMPLE_COUNT = 1000  # test images whose codes each preview carries (fewer for large images)
LATENT_SAMPLE_VALUES = 2_000_000  # cap on the input values encoded per preview
PREVIEW_INTERVAL_S = 1.0  # at most one preview a second: pictures move, without slowing training


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device {name!r} asked for, but this machine has no CUDA GPU; use 'auto' or 'cpu'")
    return torch.device(name)


def device_description(device: torch.device) -> str:
    """A name for people: the GPU's model, or "CPU (n threads)"."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads > 1 else ''})"


def build_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names, with its learning rate, momentum and weight decay."""
    common = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=config.momentum, **common)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, **common)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, momentum=config.momentum, **common)
    return torch.optim.Adadelta(params, **common)


@dataclass
class TrainingState:
    """Everything a run needs to continue: model, optimiser, progress and history."""

    config: RunConfig
    model: AutoEncoder
    optimizer: torch.optim.Optimizer
    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps taken
    history: list[dict] = field(default_factory=list)  # one record per completed epoch
    class_names: tuple[str, ...] = ()
    # Where a stop left the epoch in progress, so that a resume continues at the exact step: batches done in it,
    # its loss sums so far, the corruption noise's and torch's generators (dropout, a VAE's sampling), and
    # the seconds trained over every call.
    batch: int = 0
    epoch_sums: dict[str, float] = field(default_factory=dict)
    noise_state: torch.Tensor | None = None
    rng_state: torch.Tensor | None = None
    seconds: float = 0.0

    @classmethod
    def create(cls, config: RunConfig, input_shape: tuple[int, int, int],
               device: torch.device | str | None = None, class_names: tuple[str, ...] = ()) -> TrainingState:
        """A fresh, seeded model and optimiser for inputs of ``input_shape`` (C, H, W)."""
        torch.manual_seed(config.train.seed)
        device = resolve_device(config.train.device) if device is None else torch.device(device)
        model = build_model(config.model, input_shape).to(device)
        return cls(config, model, build_optimizer(model.parameters(), config.train), class_names=class_names)

    @classmethod
    def from_run(cls, run: LoadedRun, device: torch.device | str = "cpu") -> TrainingState:
        """The state that continues a saved run: its weights, optimiser state and history.

        The state takes over ``run.model`` (moved to ``device``, in training mode).
        """
        model = run.model.to(device).train()
        optimizer = build_optimizer(model.parameters(), run.config.train)
        if run.optimizer_state is not None:
            try:
                optimizer.load_state_dict(run.optimizer_state)
            except (ValueError, KeyError, RuntimeError) as exc:
                raise CheckpointError(f"{run.path / OPTIMIZER_FILE} does not fit the model: {exc}") from None
        state = cls(run.config, model, optimizer, epoch=run.epochs, step=run.steps, history=list(run.history),
                    class_names=run.class_names)
        if run.progress is not None:
            state._restore_progress(run.progress, run.path / PROGRESS_FILE)
        return state

    def progress(self) -> dict:
        """Where this run stands inside its epoch, as JSON (the run folder's progress.json)."""
        return {"batch": self.batch, "epoch_sums": self.epoch_sums, "seconds": round(self.seconds, 3),
                "noise_state": _bytes_text(self.noise_state), "rng_state": _bytes_text(self.rng_state)}

    def _restore_progress(self, progress: dict, path: Path) -> None:
        try:
            self.batch = int(progress.get("batch", 0))
            self.epoch_sums = {str(name): float(value) for name, value in progress.get("epoch_sums", {}).items()}
            self.seconds = float(progress.get("seconds", 0.0))
            self.noise_state = _text_bytes(progress.get("noise_state"))
            self.rng_state = _text_bytes(progress.get("rng_state"))
        except (TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise CheckpointError(f"{path} is not a readable training position ({exc})") from None
        if self.batch < 0:
            raise CheckpointError(f"{path} is not a readable training position (batch {self.batch})")

    def save(self, folder: str | Path, *, normalizer: Normalizer | None = None, preview: Preview | None = None,
             with_optimizer: bool = True) -> Path:
        """Write this state as a run folder (see :mod:`aecore.checkpoints`) and return its path.

        ``with_optimizer=False`` leaves out the optimiser state (twice the model's size for Adam).
        """
        picture = None
        if preview is not None:
            rows = stacked_rows(preview.train_inputs, preview.train_recons, preview.test_inputs,
                                preview.test_recons)
            picture = to_pil(rows, scale=2)
        return save_run(folder, config=self.config, model=self.model, history=self.history,
                        class_names=self.class_names, normalizer=normalizer, preview=picture,
                        optimizer_state=self.optimizer.state_dict() if with_optimizer else None,
                        progress=self.progress() if with_optimizer else None)

    def checkpoint(self, folder: str | Path, *, normalizer: Normalizer | None = None,
                   preview: Preview | None = None) -> Path:
        """Save this state to ``folder`` as a whole: written beside it, then renamed into its place, so a crash at
        any moment leaves the previous checkpoint or this one (:func:`aecore.checkpoints.recovered_run_folder`)."""
        folder = Path(folder)
        staged = folder.with_name(folder.name + ".new")
        shutil.rmtree(staged, ignore_errors=True)
        self.save(staged, normalizer=normalizer, preview=preview)
        replace_run_folder(staged, folder)
        return folder

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def evaluate(model: AutoEncoder, objective: Objective, split: Split,
             batch_size: int = EVAL_BATCH_SIZE) -> Losses:
    """Mean loss parts of ``model`` on clean inputs of ``split``, in eval mode."""
    if len(split) == 0:
        return {}
    totals: dict[str, float] = {}
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(split), batch_size):
            x = split.x[start:start + batch_size]
            _, parts = objective(model, x, training=False)
            for name, value in parts.items():
                totals[name] = totals.get(name, 0.0) + float(value) * len(x)
    return {name: total / len(split) for name, total in totals.items()}


def _preview_indices(n: int, count: int) -> torch.Tensor:
    """``count`` evenly spread, fixed indices into a split of ``n`` images."""
    return torch.linspace(0, n - 1, min(count, n)).round().long().unique() if n else torch.zeros(0, dtype=torch.long)


def _preview(state: TrainingState, dataset: Dataset, train_idx: torch.Tensor, test_idx: torch.Tensor,
             code_idx: torch.Tensor) -> Preview:
    model = state.model
    to_pixels = lambda x: dataset.normalizer.inverse(x).clamp(0, 1).float().cpu().numpy()  # noqa: E731
    with evaluating(model), torch.inference_mode():
        train_x, test_x = dataset.train.x[train_idx], dataset.test.x[test_idx]
        preview = Preview(
            train_inputs=to_pixels(train_x), train_recons=to_pixels(model.reconstruct(train_x)),
            test_inputs=to_pixels(test_x), test_recons=to_pixels(model.reconstruct(test_x)),
            train_labels=dataset.train.y[train_idx].cpu().numpy(),
            test_labels=dataset.test.y[test_idx].cpu().numpy(),
            codes=model.encode(dataset.test.x[code_idx]).float().cpu().numpy(),
            code_labels=dataset.test.y[code_idx].cpu().numpy(),
        )
    return preview


class _LastGoodEpoch:
    """The model's weights and the optimiser's state at the start of an epoch, to put back after a
    non-finite loss. The weights are copied in place into tensors made once, not re-allocated each epoch."""

    def __init__(self, model: AutoEncoder, optimizer: torch.optim.Optimizer) -> None:
        self._live = [*model.parameters(), *model.buffers()]
        self._copies = [tensor.detach().clone() for tensor in self._live]
        self._optimizer = optimizer
        self._optimizer_state: dict = {}

    def take(self) -> None:
        with torch.no_grad():
            for copy_, live in zip(self._copies, self._live, strict=True):
                copy_.copy_(live)
        self._optimizer_state = copy.deepcopy(self._optimizer.state_dict())

    def restore(self) -> None:
        with torch.no_grad():
            for copy_, live in zip(self._copies, self._live, strict=True):
                live.copy_(copy_)
        self._optimizer.load_state_dict(self._optimizer_state)


class _PreviewClock:
    """Makes previews at most once every PREVIEW_INTERVAL_S seconds."""

    def __init__(self, make) -> None:
        self._make, self._last = make, -math.inf

    def due(self) -> bool:
        return time.perf_counter() - self._last >= PREVIEW_INTERVAL_S

    def take(self) -> Preview:
        self._last = time.perf_counter()
        return self._make()


def fit(state: TrainingState, dataset: Dataset, *, stop: threading.Event | None = None,
        epochs: int | None = None, save_to: str | Path | None = None) -> Iterator[Event]:
    """Train ``state`` on ``dataset`` up to ``epochs`` (default: the config's) and yield events.

    Checks ``stop`` before every step; a set stop ends the run with
    ``Finished(stopped=True)`` and calling ``fit`` again on the same state
    resumes at the exact step: the state keeps the epoch's sample order and
    position, its loss sums and the random generators, so a run stopped and
    resumed gives the same losses as one that never stopped.
    A NaN or infinite loss ends it with :class:`Failed` and puts back the weights
    from the end of the last good epoch. With ``save_to``, the run is saved
    there (atomically) when it finishes or stops.
    """
    started_at = time.perf_counter()
    config = state.config
    target_epochs = config.train.epochs if epochs is None else epochs
    model, optimizer, device = state.model, state.optimizer, state.device
    if tuple(dataset.input_shape) != tuple(model.input_shape):
        yield Failed(state.epoch, state.step, f"the dataset's images are {_fmt(dataset.input_shape)} but the "
                                              f"model was built for {_fmt(model.input_shape)}")
        return
    dataset = dataset.to(device)
    objective = Objective(config.objective, dataset.value_range)
    n_train, batch_size = len(dataset.train), config.train.batch_size
    steps_per_epoch = math.ceil(n_train / batch_size)
    if state.batch >= steps_per_epoch:  # a position in an epoch of other data: start that epoch over
        state.batch, state.epoch_sums = 0, {}
    train_idx = _preview_indices(n_train, config.train.preview_count)
    test_idx = _preview_indices(len(dataset.test), config.train.preview_count)
    values_per_image = math.prod(dataset.input_shape)
    code_idx = _preview_indices(len(dataset.test), max(100, min(LATENT_SAMPLE_COUNT,
                                                                LATENT_SAMPLE_VALUES // values_per_image)))
    noise = torch.Generator(device=device)
    if state.noise_state is not None:  # a run stopped mid-way: its generators go on where they were
        noise.set_state(state.noise_state)
    else:
        noise.manual_seed(config.train.seed + state.step)
    if state.rng_state is not None:
        _set_rng_state(device, state.rng_state)
    layerwise_losses: tuple[float, ...] = ()
    if config.train.layerwise_epochs and state.step == 0:
        if not isinstance(dataset.train.x, torch.Tensor):  # a folder streamed from its cache (aecore.image_stream)
            yield Failed(state.epoch, state.step, "layer-wise pretraining needs the images in memory, and these are "
                                                  "streamed from disk; train without it, or use fewer images")
            return
        layerwise_losses = tuple(greedy_pretrain(model, dataset.train.x, epochs=config.train.layerwise_epochs,
                                                 lr=config.train.lr, batch_size=batch_size, seed=config.train.seed))
    yield Started(config, state.epoch, target_epochs, steps_per_epoch, n_train, len(dataset.val),
                  str(device), device_description(device), layerwise_losses,
                  tuple(state.class_names or dataset.class_names), state.batch, state.seconds)
    seconds_before = state.seconds

    last: Epoch | None = None
    latest_preview: Preview | None = None
    last_good = _LastGoodEpoch(model, optimizer)
    previews = _PreviewClock(lambda: _preview(state, dataset, train_idx, test_idx, code_idx))
    while state.epoch < target_epochs:
        epoch_number, epoch_started = state.epoch + 1, time.perf_counter()
        last_good.take()
        if not model.training:  # train() walks every module: 0.1 ms an epoch, felt in lecture 002's 5,000
            model.train()
        order = torch.randperm(n_train, generator=torch.Generator().manual_seed(config.train.seed + epoch_number))
        order = order.to(device)
        first_batch, sums = state.batch, dict(state.epoch_sums)  # 0 and {} unless a stop left this epoch half done
        for batch_number, start in enumerate(range(first_batch * batch_size, n_train, batch_size),
                                             start=first_batch + 1):
            if stop is not None and stop.is_set():
                state.batch, state.epoch_sums = batch_number - 1, sums
                state.seconds = seconds_before + time.perf_counter() - started_at
                _capture_rng(state, noise)
                yield from _finish(state, dataset, save_to, last, latest_preview, stopped=True)
                return
            x = dataset.train.x[order[start:start + batch_size]]  # (B, C, H, W)
            try:
                loss, parts = objective(model, x, training=True, generator=noise)
            except (AecoreError, RuntimeError) as exc:
                yield Failed(state.epoch, state.step, f"training failed at epoch {epoch_number}: {exc}")
                return
            losses = dict(zip(parts, torch.stack(list(parts.values())).tolist(), strict=True))  # one sync
            if not math.isfinite(losses["total"]):
                last_good.restore()
                yield Failed(state.epoch, state.step, (
                    f"the loss became {losses['total']} at epoch {epoch_number}, step {batch_number}: "
                    f"training diverged. Try a lower learning rate than {config.train.lr:g} "
                    f"(e.g. {config.train.lr / 10:g}). The weights from the end of epoch {state.epoch} were kept."))
                return
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state.step += 1
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value * len(x)
            step_preview = None
            last_batch = start + batch_size >= n_train
            if config.train.preview_count and not last_batch and previews.due():
                step_preview = latest_preview = previews.take()
            yield Step(epoch_number, batch_number, state.step, losses, step_preview)

        state.epoch, state.batch, state.epoch_sums = epoch_number, 0, {}
        state.seconds = seconds_before + time.perf_counter() - started_at
        _capture_rng(state, noise)
        train_losses = {name: total / n_train for name, total in sums.items()}
        val_losses = evaluate(model, objective, dataset.val)
        seconds = time.perf_counter() - epoch_started
        state.history.append({"epoch": epoch_number, "step": state.step, "seconds": round(seconds, 3),
                              "train": train_losses, "val": val_losses})
        preview = None
        if config.train.preview_count and (previews.due() or state.epoch == target_epochs):
            preview = latest_preview = previews.take()
        last = Epoch(epoch_number, state.step, train_losses, val_losses, seconds, preview)
        yield last
    yield from _finish(state, dataset, save_to, last, latest_preview, stopped=False)


def _finish(state: TrainingState, dataset: Dataset, save_to: str | Path | None, last: Epoch | None,
            preview: Preview | None, *, stopped: bool) -> Iterator[Event]:
    if save_to is not None:
        path = state.save(save_to, normalizer=dataset.normalizer, preview=preview)
        yield CheckpointSaved(state.epoch, str(path))
    yield Finished(state.epoch, state.step, stopped, last.train if last else {}, last.val if last else {},
                   state.seconds, state.batch)


def _capture_rng(state: TrainingState, noise: torch.Generator) -> None:
    state.noise_state = noise.get_state()
    state.rng_state = torch.cuda.get_rng_state(noise.device) if noise.device.type == "cuda" else torch.get_rng_state()


def _set_rng_state(device: torch.device, rng_state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(rng_state, device)
    else:
        torch.set_rng_state(rng_state)


def _bytes_text(tensor: torch.Tensor | None) -> str | None:
    return None if tensor is None else base64.b64encode(tensor.cpu().numpy().tobytes()).decode("ascii")


def _text_bytes(text: str | None) -> torch.Tensor | None:
    if text is None:
        return None
    return torch.frombuffer(bytearray(base64.b64decode(text, validate=True)), dtype=torch.uint8)


def train_to_end(config: RunConfig, device: torch.device | str | None = None,
                 on_epoch: Callable[[Epoch], None] | None = None) -> tuple[TrainingState, Dataset, Epoch | None]:
    """Load ``config``'s data and train a fresh model for all its epochs (on ``device``; None: the
    config's). Returns the state, the dataset and the last epoch event; a failed run raises."""
    dataset = load_dataset(config.data)
    state = TrainingState.create(config, dataset.input_shape, device, class_names=dataset.class_names)
    last = None
    for event in fit(state, dataset):
        if isinstance(event, Failed):
            raise AecoreError(f"{config.preset or 'run'}: {event.message}")
        if isinstance(event, Epoch):
            last = event
            if on_epoch is not None:
                on_epoch(event)
    return state, dataset, last


def _fmt(shape) -> str:
    return "x".join(str(s) for s in shape)


def losses_to_text(losses: Losses) -> str:
    """``total 0.0123 · reconstruction 0.0100 · kl 3.21`` for logs and progress bars."""
    return " · ".join(f"{name} {value:.4g}" for name, value in losses.items())

