"""The pages' cache layer: saved runs and everything derived from them, keyed by a :class:`RunRef`.

A run is named by its folder and the time its weights were written, never by
tensors, so a saved-over run is recomputed and every session shares the work.
Loaded models and datasets are ``st.cache_resource`` (shared read-only, eval
mode); derived arrays are ``st.cache_data``. The functions after the caches
read through them: they take a run reference and return display pixels or codes.

t-SNE and UMAP maps are never computed here: :func:`latent_map` asks the
shared background jobs (:mod:`aecore.jobs.projection_work`) for them and shows
the PCA map, then the layout so far, until the finished map is in the disk
cache (:mod:`aecore.projection_cache`), which every session and the CLI share.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from aecore import projection_cache
from aecore.checkpoints import MODEL_FILE, LoadedRun, list_runs, load_run
from aecore.code_sample import CodeSample, encode_sample
from aecore.config import DataConfig
from aecore.data import Dataset, Split, load_test_pixels
from aecore.denoising import DenoisingExample, denoising_example, psnr_curve, runs_on_the_same_data
from aecore.describe import training_noise
from aecore.diagnostics import kl_per_dimension
from aecore.image_report import ImageReport, report_on
from aecore.jobs.projection_work import ProjectionJob, shared_projections, status_line
from aecore.latent import LatentPlane, encode_images
from aecore.latent_map import (
    DEFAULT_GRID,
    DEFAULT_MAP_SIZE,
    PLANE_MODES,
    SPLITS,
    LatentMap,
    MapPoints,
    cell_centres,
    encode_map_points,
    map_sizes,
    plane_map,
    projected_map,
    provisional_map,
)
from aecore.models import AutoEncoder
from aecore.pixels import decoded_pixels, manifold_image, png_bytes, round_trip, to_pixels
from aecore.probes import linear_probe_accuracy
from aecore.projection import Projection, project, projection_of
from aecore.projection_cache import ProjectionKey
from aecore.scoring import reconstruction_errors
from aecore.shipped import lab_model
from aecore.ui.shared_resources import dataset_is_loaded, shared_dataset
from aecore.ui.widgets import DEFAULT_RUN, run_picker

NO_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"  # "missing ScriptRunContext!"
NEIGHBOUR_BANK_SIZE = 10_000  # training codes searched for nearest neighbours
DEFAULT_SAMPLE = 2000  # test images on a map unless the page lets the user choose
KL_IMAGES = 2000  # test images a VAE's KL per dimension is averaged over


@dataclass(frozen=True)
class RunRef:
    """A run folder and the modification time of its weights: the key of every cache below."""

    path: str
    modified: float

    @classmethod
    def of(cls, path: str | Path) -> RunRef:
        """The reference of the run in folder ``path`` as its weights are now."""
        path = Path(path)
        return cls(str(path), (path / MODEL_FILE).stat().st_mtime)

    @property
    def name(self) -> str:
        """The run's folder name (for file names and labels)."""
        return Path(self.path).name

    def run(self) -> LoadedRun:
        """The loaded run (shared by all sessions: read it, never train it)."""
        return loaded_run(self)

    def dataset(self) -> Dataset:
        """The run's dataset on the CPU (the same object CPU training uses), behind a spinner while it loads."""
        config = self.run().config.data
        if dataset_is_loaded(config):  # a spinner costs a delta and a timer thread: 10 % of an Explore rerun
            return shared_dataset(config)
        with st.spinner("Loading the images…"):
            return shared_dataset(config)


def chosen_run(label: str = "Model to explore") -> RunRef:
    """Draw the run picker and return the chosen run; stops the page when there is no run at all."""
    path = run_picker(label)
    if path is None:
        st.stop()
    return RunRef.of(path)


# --- cached: loaded once per run (or dataset, or lab) and shared by every session


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def loaded_run(ref: RunRef) -> LoadedRun:
    """A saved run for display: eval mode, never trained."""
    return load_run(ref.path)


@st.cache_resource(max_entries=4, show_spinner="Loading the test images…")
def _test_pixels(config: DataConfig) -> Split:
    return load_test_pixels(config)


@st.cache_resource(max_entries=12, show_spinner=False)
def lab_run(preset: str) -> tuple[AutoEncoder, Dataset]:
    """A lecture lab's trained model and dataset, once per server (see :func:`aecore.shipped.lab_model`)."""
    return lab_model(preset)


# --- cached: arrays derived from a run


@st.cache_data(max_entries=16, show_spinner=False)
def round_trip_examples(ref: RunRef, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` test images spread over the test split (pixels, N, C, H, W), their codes (N, L) and the
    pixels decoded from those codes; reads only the test images, not the whole dataset."""
    run = ref.run()
    test = _test_pixels(run.config.data)
    images = test.x[np.linspace(0, len(test) - 1, count).round().astype(int)]
    codes, recons = round_trip(run.model, run.normalizer, images)
    return images.numpy(), codes, recons


@st.cache_data(max_entries=16, show_spinner="Encoding the test images…")
def test_sample(ref: RunRef, cap: int) -> CodeSample:
    """Codes of at most ``cap`` test images (the same ones for every page)."""
    return encode_sample(ref.run().model, ref.dataset().test, cap, seed=0)


@st.cache_data(max_entries=8, show_spinner="Encoding training images to search for neighbours…")
def training_bank(ref: RunRef) -> CodeSample:
    """Codes of up to NEIGHBOUR_BANK_SIZE training images, searched for nearest neighbours."""
    return encode_sample(ref.run().model, ref.dataset().train, NEIGHBOUR_BANK_SIZE, seed=1)


@st.cache_resource(max_entries=8, show_spinner="Encoding the images…")
def map_points(ref: RunRef, split: str, cap: int) -> MapPoints:
    """Codes of at most ``cap`` images of ``split`` ("test", or "all" of the dataset), shared read-only by every
    session (a resource: a map of 70,000 codes is not copied at each rerun); the test ones are
    :func:`test_sample`'s."""
    points = encode_map_points(ref.run().model, ref.dataset(), split, cap)
    for array in (points.codes, points.labels, points.splits, points.indices):
        array.setflags(write=False)
    return points


@st.cache_resource(max_entries=16, show_spinner=False)
def _pca_projection(ref: RunRef, split: str, cap: int) -> Projection:
    return project(map_points(ref, split, cap).codes, "pca")


def map_image_count(ref: RunRef, split: str) -> int:
    """How many images of the run's dataset a map of ``split`` ("test" or "all") can show."""
    data = ref.dataset()
    return sum(len(getattr(data, name)) for name in (SPLITS if split == "all" else (split,)))


def map_size_options(ref: RunRef, split: str) -> list[int]:
    """The sample sizes a map of ``split`` offers (see :func:`aecore.latent_map.map_sizes`)."""
    return map_sizes(map_image_count(ref, split))


def projection_key(ref: RunRef, cap: int, method: str, perplexity: float, split: str = "test") -> ProjectionKey:
    """The disk cache's key of the ``method`` map of :func:`map_points`."""
    points = map_points(ref, split, cap)
    return ProjectionKey.of(ref.path, method, points.selection, len(points), perplexity=perplexity)


def map_projection(ref: RunRef, cap: int, method: str, perplexity: float, split: str = "test") -> Projection | None:
    """The ``method`` projection of :func:`map_points` when it is ready: PCA at once, t-SNE and UMAP once a
    background job has finished them (read from the disk cache, or from the job); None until then."""
    if method == "pca":
        return _pca_projection(ref, split, cap)
    key = projection_key(ref, cap, method, perplexity, split)
    points = projection_cache.load(key)
    if points is None:
        job = shared_projections().job(key)
        status = job.status() if job is not None else None
        points = status.points if status is not None and status.state == "finished" else None
    return None if points is None else projection_of(map_points(ref, split, cap).codes, method, points)


def projection_job(ref: RunRef, cap: int, method: str, perplexity: float, split: str = "test", *,
                   start: bool = True, watcher: str | None = None) -> ProjectionJob | None:
    """The shared background job computing the ``method`` map of :func:`map_points`: requested (started, or
    joined by ``watcher``) when ``start``, else only looked up (None if there is none)."""
    key = projection_key(ref, cap, method, perplexity, split)
    if not start:
        return shared_projections().job(key)
    codes = map_points(ref, split, cap).codes
    return shared_projections().request(key, codes, perplexity=perplexity, watcher=watcher)


@st.cache_data(max_entries=8, show_spinner="Measuring how well the test images are reconstructed…")
def test_errors(ref: RunRef) -> np.ndarray:
    """Per-image reconstruction error of the whole test split: the reference for anomaly scores."""
    return reconstruction_errors(ref.run().model, ref.dataset().test.x)


@st.cache_data(max_entries=64, show_spinner="Measuring PSNR against noise…")
def psnr_by_noise_level(model_ref: RunRef, data_ref: RunRef, kind: str, levels: tuple[float, ...],
                        count: int) -> list[tuple[float, float, float]]:
    """(level, noisy PSNR, denoised PSNR) of ``model_ref``'s model on the first ``count`` test images of
    ``data_ref``'s dataset."""
    return psnr_curve(model_ref.run().model, data_ref.dataset(), kind, levels, count)


@st.cache_data(max_entries=16, show_spinner="Training a softmax classifier on the codes…")
def probe_accuracy(ref: RunRef) -> float:
    """Test accuracy of a linear (softmax) probe on frozen codes of up to 10,000 training images."""
    data, bank = ref.dataset(), training_bank(ref)
    test_codes = encode_images(ref.run().model, data.test.x)
    return linear_probe_accuracy(bank.codes, bank.labels, test_codes, data.test.y.numpy())


@st.cache_data(max_entries=16, show_spinner=False)
def typical_distance_to_data(ref: RunRef, count: int = 200) -> float:
    """The median latent distance from a test image's code (the first ``count`` of the DEFAULT_SAMPLE) to
    its nearest training code: what "near the data" means for this run."""
    codes = test_sample(ref, DEFAULT_SAMPLE).codes[:count]
    return float(np.median(training_bank(ref).distance_to_nearest(codes)))


@st.cache_data(max_entries=16, show_spinner=False)
def kl_by_dimension(ref: RunRef) -> np.ndarray:
    """A VAE's mean KL per latent dimension (nats, (L,)) over the first KL_IMAGES test images."""
    return kl_per_dimension(ref.run().model, ref.dataset().test.x[:KL_IMAGES])


# --- composed from the caches


def latent_map(ref: RunRef, cap: int, mode: str, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0,
               split: str = "test", *, start: bool = True, watcher: str | None = None) -> LatentMap:
    """The map of :func:`map_points` in ``mode`` as it is now: a plane (see :func:`aecore.latent_map.plane_map`)
    or a projection ("pca", "tsne", "umap"). Never waits for t-SNE or UMAP: until their map is ready it is
    the layout so far, or the PCA map, with a note saying so; ``start`` requests the background job."""
    codes = map_points(ref, split, cap).codes
    if mode in PLANE_MODES:
        return plane_map(codes, mode, dims)
    finished = map_projection(ref, cap, mode, perplexity, split)
    if finished is not None:
        return projected_map(finished)
    job = projection_job(ref, cap, mode, perplexity, split, start=start, watcher=watcher)
    status = job.status() if job is not None else None
    if status is not None and status.state == "finished":
        return projected_map(projection_of(codes, mode, status.points))
    return provisional_map(codes, _pca_projection(ref, split, cap), mode, status.points if status else None,
                           status_line(mode, status))


def map_pixels(ref: RunRef, points: MapPoints, rows) -> np.ndarray:
    """Display pixels (N, C, H, W) of the images of map rows ``rows`` (of any splits), in that order."""
    rows = np.asarray(rows, dtype=np.int64)
    data = ref.dataset()
    pixels = None
    for split_index, name in enumerate(SPLITS):
        here = np.flatnonzero(points.splits[rows] == split_index)
        if len(here):
            images = to_display_pixels(ref, getattr(data, name).x[points.indices[rows[here]]])
            if pixels is None:
                pixels = np.empty((len(rows), *images.shape[1:]), dtype=images.dtype)
            pixels[here] = images
    return pixels if pixels is not None else np.zeros((0, *data.input_shape), dtype=np.float32)


def noise_matrix(ref: RunRef, kind: str, levels: tuple[float, ...], count: int = 300,
                 ) -> tuple[np.ndarray, list[str]]:
    """PSNR after denoising (runs x levels) of every run trained on ``ref``'s data, on its test images with
    ``kind`` noise at each level, and each row's label (the run's name and the noise it was trained with)."""
    run = ref.run()
    rows, labels = [], []
    for folder, config in runs_on_the_same_data(run.config, run.model.input_shape, list_runs()):
        rows.append([denoised for _, _, denoised in psnr_by_noise_level(RunRef.of(folder), ref, kind, levels, count)])
        labels.append(f"{folder.name} ({training_noise(config.objective)})")
    return np.array(rows), labels


def to_display_pixels(ref: RunRef, images: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) in the run's model space -> display pixels in [0, 1]."""
    return to_pixels(ref.dataset().normalizer, images)


def test_pixels(ref: RunRef, indices) -> np.ndarray:
    """Display pixels (N, C, H, W) of test images, by their index in the test split."""
    return to_display_pixels(ref, ref.dataset().test.x[np.asarray(indices)])


def train_pixels(ref: RunRef, indices) -> np.ndarray:
    """Display pixels (N, C, H, W) of training images, by their index in the training split."""
    return to_display_pixels(ref, ref.dataset().train.x[np.asarray(indices)])


def test_codes(ref: RunRef, indices) -> np.ndarray:
    """Codes (M, L) of test images, by their index in the test split."""
    return encode_images(ref.run().model, ref.dataset().test.x[np.asarray(indices)])


def decode_pixels(ref: RunRef, codes: np.ndarray) -> np.ndarray:
    """Display pixels (N, C, H, W) decoded from codes (N, L)."""
    return decoded_pixels(ref.run().model, ref.dataset().normalizer, codes)


@st.cache_data(max_entries=64, show_spinner=False)
def decoded_grid_png(ref: RunRef, plane: LatentPlane, points: np.ndarray, n: int, scale: int = 2) -> bytes:
    """The images decoded at an n x n grid of plane points (top row first), tiled into one picture, as PNG bytes;
    decoded and encoded once per grid: a map redrawn with the same grid under it (every click on it) neither decodes
    nor encodes again."""
    return png_bytes(manifold_image(ref.run().model, ref.dataset().normalizer, plane, points, n, scale))


def denoising(ref: RunRef, kind: str, level: float) -> DenoisingExample:
    """Ten test images with ``kind`` noise at ``level``, and what the run's model makes of them."""
    return denoising_example(ref.run().model, ref.dataset(), kind, level)


def report_on_image(ref: RunRef, image: np.ndarray) -> ImageReport:
    """What the run's model makes of a grey image (H, W) in [0, 1], scored against the test images."""
    return report_on(ref.run().model, ref.dataset().normalizer, image, test_errors(ref))


class _ThisThreadOnly(logging.Filter):
    """Drops the records logged by the thread that made it."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


@contextmanager
def outside_a_script() -> Iterator[None]:
    """Around cached functions called from a background thread: their spinners look for a page to draw on, and
    Streamlit logs a warning for each that finds none (the other threads' warnings still show)."""
    quiet, logger = _ThisThreadOnly(), logging.getLogger(NO_CONTEXT_LOGGER)
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def warm_up_explore(ref: RunRef) -> None:
    """Fill the shared caches that a first look at ``ref`` on Explore fills: its default map, the decoded grid
    under it, and the training codes searched for a click's neighbours. The server does it before the class
    arrives; else the first students to open the page or click the map wait for it, and those behind them wait
    for the first (a second or more on two cores while a run trains)."""
    with outside_a_script():
        the_map = latent_map(ref, DEFAULT_MAP_SIZE, "plane")
        if the_map.plane is not None:
            decoded_grid_png(ref, the_map.plane, cell_centres(the_map.bounds, DEFAULT_GRID), DEFAULT_GRID)
        training_bank(ref)


def warm_up_default_explore() -> None:
    """:func:`warm_up_explore` for the run every page opens on (nothing when it is not on this machine)."""
    if DEFAULT_RUN.is_dir():
        warm_up_explore(RunRef.of(DEFAULT_RUN))

