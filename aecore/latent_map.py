"""A 2-D map of the codes: which points and maps a run offers, the plane or projection behind one, its bounds
and grids.

A map drawn on a :class:`~aecore.latent.LatentPlane` (the 2-D latent itself, two
chosen dimensions, or the PCA plane) can decode any spot of it; a t-SNE or UMAP
map (:mod:`aecore.projection`) can only place codes near the ones it was fitted on.
A map shows :class:`MapPoints`: a sample of the test images, or of every image
of the dataset (test, training and validation), each point knowing its split.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from aecore.data import Dataset
from aecore.latent import LatentPlane, encode_images, grid_points
from aecore.models import AutoEncoder
from aecore.projection import METHODS, Projection, projection_of, sample_indices

PLANE_MODES = ("plane", "dims")  # maps drawn on a plane of the latent space; other modes are projections
MARGIN = 0.05  # fraction of the codes' range added around a plane map
CLICK_GRID_SIZE = 41  # invisible points per side laid over a plane map for click-anywhere
SPLITS = ("test", "train", "val")  # the dataset's splits, in the order a map of every image lists them
SPLIT_NAMES = ("test", "training", "validation")  # how a point's split is named on a page
MAP_SPLITS = {"test": "test images", "all": "train + test images"}  # the images a map can show -> label
MAP_SIZES = (500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 50_000)  # sample sizes offered below "all of them"
DEFAULT_MAP_SIZE = 2000
LIVE_FRAME_POINTS = 10_000  # a larger map's layouts, sent to each watcher as its job goes on, draw a sample of this
DEFAULT_GRID = 15  # images per side of the decoded grid under a plane map


@dataclass(frozen=True)
class MapPoints:
    """The codes a map shows, each with its class, its split and its row in that split."""

    codes: np.ndarray  # (N, L) float32
    labels: np.ndarray  # (N,) int64 classes
    splits: np.ndarray  # (N,) int8 index into SPLITS
    indices: np.ndarray  # (N,) row of each point in its split
    selection: str  # which points, as cache keys name them: "<split>:<count>/<images>:seed<seed>"

    def __len__(self) -> int:
        return len(self.codes)

    def name(self, row: int) -> str:
        """How the page names the image of map row ``row``: "test image 12", "training image 4071"."""
        return f"{SPLIT_NAMES[int(self.splits[row])]} image {int(self.indices[row])}"


def map_sizes(images: int) -> list[int]:
    """The sample sizes a map of ``images`` images offers: MAP_SIZES below it, then all of them."""
    return [size for size in MAP_SIZES if size < images] + [images]


def encode_map_points(model: AutoEncoder, dataset: Dataset, split: str, cap: int | None = None,
                      seed: int = 0) -> MapPoints:
    """Codes of at most ``cap`` (None: all) images of ``split`` ("test", "train", "val", or "all" of them),
    sampled with ``seed`` over the whole choice; only the sampled images are encoded.

    The test sample is the one :func:`aecore.code_sample.encode_sample` draws with the same cap and seed.
    """
    names = SPLITS if split == "all" else (split,)
    if any(name not in SPLITS for name in names):
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}, all")
    sizes = [len(getattr(dataset, name)) for name in names]
    total = sum(sizes)
    chosen = sample_indices(total, total if cap is None else cap, seed=seed)  # sorted: split by split
    starts = np.cumsum([0, *sizes])
    codes, labels, splits, indices = [], [], [], []
    for name, start, end in zip(names, starts[:-1], starts[1:], strict=True):
        rows = chosen[(chosen >= start) & (chosen < end)] - start
        data = getattr(dataset, name)
        codes.append(encode_images(model, data.x[rows]))
        labels.append(data.y[rows].cpu().numpy())
        splits.append(np.full(len(rows), SPLITS.index(name), dtype=np.int8))
        indices.append(rows)
    return MapPoints(np.concatenate(codes), np.concatenate(labels).astype(np.int64), np.concatenate(splits),
                     np.concatenate(indices), f"{split}:{len(chosen)}/{total}:seed{seed}")


def map_modes(latent_dim: int | None, *, dimensions: bool = False,
              methods: tuple[str, ...] = ("tsne", "umap")) -> dict[str, str]:
    """The maps offered for codes of ``latent_dim`` numbers (None: for runs of any size), mode -> label.

    First the plane ("plane": the 2-D latent, or the PCA plane of a larger one; none for a 1-D latent),
    then, when ``dimensions``, two chosen dimensions of a latent larger than 2, then the projections.
    """
    if latent_dim is None:
        modes = {"plane": "2-D codes or PCA"}
    elif latent_dim == 1:
        modes = {}
    else:
        modes = {"plane": "2-D codes" if latent_dim == 2 else "PCA plane"}
    if dimensions and latent_dim is not None and latent_dim > 2:
        modes["dims"] = "two dimensions"
    return modes | {method: METHODS[method] for method in methods}


def bounds_of(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) around the points (N, 2) from their 0.5 to 99.5 percentiles, with a margin; never empty."""
    low, high = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    span = np.maximum(high - low, 1e-3)
    low, high = low - MARGIN * span, high + MARGIN * span
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def cell_centres(bounds: tuple[float, float, float, float], n: int) -> np.ndarray:
    """Centres (n*n, 2) of an n x n tiling of ``bounds``, top row first: decoded there, a mosaic drawn over
    ``bounds`` puts each image exactly where its code lies."""
    x0, x1, y0, y1 = bounds
    half_x, half_y = (x1 - x0) / (2 * n), (y1 - y0) / (2 * n)
    return grid_points((x0 + half_x, x1 - half_x), (y0 + half_y, y1 - half_y), n)


@dataclass(frozen=True)
class LatentMap:
    """Map coordinates of a sample of codes and how the map was made."""

    points: np.ndarray  # (N, 2)
    axis_labels: tuple[str, str]
    name: str | None = None  # the map's column prefix in a latent CSV ("pca", "tsne", ...); None: raw dimensions
    plane: LatentPlane | None = None  # set for plane maps: any spot decodes
    projection: Projection | None = None  # set for projections: new codes are only placed
    bounds: tuple[float, float, float, float] | None = None  # (x0, x1, y0, y1), for plane maps
    final: bool = True  # False: shown while the map asked for is computed (see provisional_map)
    drawn_rows: np.ndarray | None = None  # (M,) sorted rows of ``points`` to draw; None: all of them

    def place(self, codes: np.ndarray) -> np.ndarray:
        """Map positions (M, 2) of new codes (M, L)."""
        return self.plane.project(codes) if self.plane is not None else self.projection.place(codes)

    @property
    def note(self) -> str:
        """How new codes are placed, when it is an approximation ("" for a plane)."""
        return self.projection.placement_note if self.projection is not None else ""

    @property
    def projections(self) -> dict[str, np.ndarray]:
        """The map's columns for :func:`aecore.latent.latent_csv_text` (none for raw dimensions, which the
        CSV's z columns already hold)."""
        return {self.name: self.points} if self.name else {}

    def click_grid(self) -> np.ndarray | None:
        """CLICK_GRID_SIZE² points (G, 2) evenly over a plane map, for clicks on empty space; None otherwise."""
        if self.bounds is None:
            return None
        x0, x1, y0, y1 = self.bounds
        return grid_points((x0, x1), (y0, y1), CLICK_GRID_SIZE)


def plane_map(codes: np.ndarray, mode: str, dims: tuple[int, int] = (0, 1)) -> LatentMap:
    """The map of codes (N, L) on a plane: "plane" is the latent itself for L = 2 and the PCA plane above,
    "dims" the two dimensions ``dims``."""
    if mode == "plane" and codes.shape[1] > 2:
        plane, name = LatentPlane.of_principal_components(codes), "pca"
    else:
        plane, name = LatentPlane.of_dimensions(codes, *dims), None
    points = plane.project(codes)
    return LatentMap(points, (plane.label_u, plane.label_v), name, plane=plane, bounds=bounds_of(points))


def projected_map(projection: Projection) -> LatentMap:
    """The map of a t-SNE, UMAP or PCA projection."""
    label = METHODS[projection.method]
    return LatentMap(projection.points, (f"{label} 1", f"{label} 2"), projection.method, projection=projection)


def provisional_map(codes: np.ndarray, pca: Projection, method: str, frame: np.ndarray | None,
                    note: str) -> LatentMap:
    """What to show while the ``method`` map of codes (N, L) is computed: its latest layout ``frame`` (N, 2)
    when there is one, else their PCA map; ``note`` says which (shown as the map's note).

    A layout of more than LIVE_FRAME_POINTS codes draws a fixed sample of them (``drawn_rows``): each new layout
    is sent again to every student watching it (1.7 MB at 70,000 points, about six times a map). The PCA map
    before the first layout, and the finished map, draw every point."""
    if frame is None:
        return replace(projected_map(Projection("pca", pca.points, pca.place, placement_note=note)), final=False)
    layout = projection_of(codes, method, frame)
    shown = Projection(method, layout.points, layout.place, placement_note=note)
    drawn = sample_indices(len(codes), LIVE_FRAME_POINTS) if len(codes) > LIVE_FRAME_POINTS else None
    return replace(projected_map(shown), final=False, drawn_rows=drawn)
