"""Cached latent-space computations for the explorer pages.

Everything is keyed by the run's folder and the time its weights were written
(plus the settings), never by tensors, so a saved-over run is recomputed and
every session shares the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from aecore.checkpoints import LoadedRun
from aecore.data import Dataset
from aecore.latent import LatentPlane, decode_codes, encode_images, grid_points
from aecore.projection import Projection, project, sample_indices
from aecore.ui.loaders import display_dataset, display_run
from aecore.ui.widgets import run_picker

NEIGHBOUR_BANK_SIZE = 10_000  # training codes searched for nearest neighbours
CLICK_GRID_SIZE = 41  # invisible points per side laid over the plane for click-anywhere
MARGIN = 0.05  # fraction of the codes' range added around the map


@dataclass(frozen=True)
class RunRef:
    """A run folder and the modification time of its weights: the cache key for everything derived."""

    path: str
    modified: float

    @classmethod
    def of(cls, path: str | Path) -> RunRef:
        path = Path(path)
        return cls(str(path), (path / "model.safetensors").stat().st_mtime)

    def run(self) -> LoadedRun:
        return display_run(self.path)

    def dataset(self) -> Dataset:
        return display_dataset(self.run().config.data)


def chosen_run() -> tuple[Path, RunRef, LoadedRun]:
    """Draw the run picker and return the chosen run; stops the page when there is no run at all."""
    path = run_picker()
    if path is None:
        st.stop()
    ref = RunRef.of(path)
    return path, ref, ref.run()


@st.cache_data(max_entries=16, show_spinner="Encoding the test images…")
def encoded_test_sample(ref: RunRef, cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (N, L), labels (N,) and test-set indices (N,) of at most ``cap`` test images."""
    data = ref.dataset()
    indices = sample_indices(len(data.test), cap, seed=0)
    return encode_images(ref.run().model, data.test.x[indices]), data.test.y[indices].numpy(), indices


@st.cache_data(max_entries=8, show_spinner="Encoding training images to search for neighbours…")
def training_bank(ref: RunRef) -> tuple[np.ndarray, np.ndarray]:
    """Codes and training-set indices of up to NEIGHBOUR_BANK_SIZE training images."""
    data = ref.dataset()
    indices = sample_indices(len(data.train), NEIGHBOUR_BANK_SIZE, seed=1)
    return encode_images(ref.run().model, data.train.x[indices]), indices


@st.cache_resource(max_entries=16, show_spinner="Computing the map (t-SNE or UMAP: a few seconds)…")
def map_projection(ref: RunRef, cap: int, method: str, perplexity: float) -> Projection:
    codes, _, _ = encoded_test_sample(ref, cap)
    return project(codes, method, perplexity=perplexity)


def plane_for(codes: np.ndarray, mode: str, dims: tuple[int, int] = (0, 1)) -> LatentPlane:
    """The plane a click is decoded on: the latent itself (2-D), two dimensions, or the PCA plane."""
    if mode == "pca":
        return LatentPlane.of_principal_components(codes)
    return LatentPlane.of_dimensions(codes, *dims)


def bounds_of(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) around the points, with a margin; never empty."""
    low, high = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    span = np.maximum(high - low, 1e-3)
    low, high = low - MARGIN * span, high + MARGIN * span
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def cell_centres(bounds: tuple[float, float, float, float], n: int) -> np.ndarray:
    """Centres of an n x n tiling of ``bounds`` (top row first): decoded there, a mosaic drawn over
    ``bounds`` puts each image exactly where its code lies."""
    x0, x1, y0, y1 = bounds
    half_x, half_y = (x1 - x0) / (2 * n), (y1 - y0) / (2 * n)
    return grid_points((x0 + half_x, x1 - half_x), (y0 + half_y, y1 - half_y), n)


def click_grid(bounds: tuple[float, float, float, float]) -> np.ndarray:
    x0, x1, y0, y1 = bounds
    return grid_points((x0, x1), (y0, y1), CLICK_GRID_SIZE)


def to_pixels(ref: RunRef, images: np.ndarray) -> np.ndarray:
    """Model outputs (N, C, H, W) -> display pixels in [0, 1]."""
    import torch

    return ref.dataset().normalizer.inverse(torch.from_numpy(images)).clamp(0, 1).numpy()


def decode_plane_points(ref: RunRef, plane: LatentPlane, points: np.ndarray) -> np.ndarray:
    """Display pixels (N, C, H, W) of the codes at plane points (N, 2)."""
    return to_pixels(ref, decode_codes(ref.run().model, plane.lift(points)))


def test_pixels(ref: RunRef, indices: np.ndarray) -> np.ndarray:
    data = ref.dataset()
    return to_pixels(ref, data.test.x[np.asarray(indices)].numpy())


def train_pixels(ref: RunRef, indices: np.ndarray) -> np.ndarray:
    data = ref.dataset()
    return to_pixels(ref, data.train.x[np.asarray(indices)].numpy())


@st.cache_data(max_entries=64, show_spinner="Measuring PSNR against noise…")
def psnr_by_noise_level(model_ref: RunRef, data_ref: RunRef, kind: str, levels: tuple[float, ...],
                        count: int) -> list[tuple[float, float, float]]:
    """(level, noisy PSNR, denoised PSNR) of ``model_ref``'s model on the first ``count`` test images of
    ``data_ref``'s dataset (see :func:`aecore.diagnostics.psnr_against_noise`)."""
    from aecore.diagnostics import psnr_against_noise

    data = data_ref.dataset()
    return psnr_against_noise(model_ref.run().model, data.test.x[:count], kind, levels,
                              to_pixels=lambda t: to_pixels(data_ref, t.numpy()), value_range=data.value_range)


def manifold_image(ref: RunRef, plane: LatentPlane, points: np.ndarray, n: int, scale: int = 2):
    """The images decoded at an n x n grid of plane points (top row first), tiled into one PIL image."""
    from aecore.viz import mosaic, to_pil

    return to_pil(mosaic(decode_plane_points(ref, plane, points), columns=n, padding=0), scale=scale)


def png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@dataclass(frozen=True)
class MapPick:
    """What a click or a box/lasso on the map picked."""

    position: tuple[float, float] | None = None  # the clicked spot (single click only)
    rows: tuple[int, ...] = ()  # data points picked (rows of the map's sample)


def read_pick(event, data_trace: int) -> MapPick:
    """Interpret a Plotly selection event (a PlotlyState or the plain dict AppTest injects)."""
    selection = event["selection"] if event else None
    if not selection:
        return MapPick()
    points = selection.get("points", [])
    rows = tuple(int(p["point_index"]) for p in points if p.get("curve_number") == data_trace)
    dragged = bool(selection.get("box") or selection.get("lasso"))
    if len(points) == 1 and not dragged:
        return MapPick(position=(float(points[0]["x"]), float(points[0]["y"])), rows=rows)
    return MapPick(rows=rows)


def image_of_class(labels: np.ndarray, label: int, nth: int = 0) -> int:
    """Row of the ``nth`` image of class ``label`` in a sample (wrapping around), or of the first image."""
    rows = np.flatnonzero(labels == label)
    return int(rows[nth % len(rows)]) if len(rows) else 0


def distances_to_data(ref: RunRef, codes: np.ndarray) -> np.ndarray:
    """Latent distance from each code (M, L) to its nearest training code: (M,)."""
    from aecore.latent import nearest_neighbours

    bank, _ = training_bank(ref)
    return nearest_neighbours(bank, codes, 1)[1][:, 0]


def decode_to_pixels(ref: RunRef, codes: np.ndarray) -> np.ndarray:
    return to_pixels(ref, decode_codes(ref.run().model, codes))


@st.cache_data(max_entries=8, show_spinner="Measuring how well the test images are reconstructed…")
def test_errors(ref: RunRef) -> np.ndarray:
    """Per-image reconstruction error of the whole test split: the reference for anomaly scores."""
    from aecore.scoring import reconstruction_errors

    return reconstruction_errors(ref.run().model, ref.dataset().test.x)


def test_codes(ref: RunRef, test_indices) -> np.ndarray:
    """Codes of chosen test images (by their index in the test split): (M, L)."""
    return encode_images(ref.run().model, ref.dataset().test.x[np.asarray(test_indices)])


@st.cache_data(max_entries=16, show_spinner="Training a softmax classifier on the codes…")
def probe_accuracy(ref: RunRef) -> float:
    """Test accuracy of a linear (softmax) probe on frozen codes of up to 10,000 training images."""
    from aecore.probes import linear_probe_accuracy

    data = ref.dataset()
    bank, bank_indices = training_bank(ref)
    test_codes = encode_images(ref.run().model, data.test.x)
    return linear_probe_accuracy(bank, data.train.y[bank_indices].numpy(), test_codes, data.test.y.numpy())


@st.cache_resource(max_entries=12, show_spinner=False)
def trained_preset(preset: str):
    """A lecture lab's trained model and dataset, once per server (see :func:`aecore.pretrained.lab_model`)."""
    from aecore.shipped import lab_model

    return lab_model(preset)
