"""Work in latent space: encode datasets, decode points and grids, interpolate, find neighbours, export.

A :class:`LatentPlane` is the bridge between a 2-D picture and an L-dimensional
code space: ``origin + u * axis_u + v * axis_v``. For a 2-D latent it is the
latent space itself; for higher ones it is a plane through the mean code
spanned by two chosen dimensions or by the first two principal components, so
that a click anywhere on a map can be decoded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aecore.data import Split
from aecore.models.base import AutoEncoder, evaluating

ENCODE_BATCH_SIZE = 1024


def encode_split(model: AutoEncoder, split: Split, batch_size: int = ENCODE_BATCH_SIZE) -> np.ndarray:
    """Deterministic codes (the mean for a VAE) of every image of ``split``: (N, L) float32."""
    return encode_images(model, split.x, batch_size)


def encode_images(model: AutoEncoder, x: torch.Tensor, batch_size: int = ENCODE_BATCH_SIZE) -> np.ndarray:
    """Deterministic codes of images (N, C, H, W): (N, L) float32."""
    device = next(model.parameters()).device
    chunks = []
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(x), batch_size):
            chunks.append(model.encode(x[start:start + batch_size].to(device)).float().cpu())
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, model.latent_dim), dtype=np.float32)


def decode_codes(model: AutoEncoder, codes: np.ndarray) -> np.ndarray:
    """Decode codes (N, L) into images (N, C, H, W) as float32 numpy (model output space)."""
    device = next(model.parameters()).device
    with evaluating(model), torch.inference_mode():
        images = model.decode(torch.as_tensor(np.asarray(codes), dtype=torch.float32, device=device))
    return images.float().cpu().numpy()


@dataclass(frozen=True)
class LatentPlane:
    """The plane ``origin + u * axis_u + v * axis_v`` in an L-dimensional code space."""

    origin: np.ndarray  # (L,)
    axis_u: np.ndarray  # (L,) unit length
    axis_v: np.ndarray  # (L,) unit length, orthogonal to axis_u
    label_u: str = "z0"
    label_v: str = "z1"

    @classmethod
    def of_dimensions(cls, codes: np.ndarray, u: int = 0, v: int = 1) -> LatentPlane:
        """Dimensions ``u`` and ``v`` through the mean code (for a 2-D latent: the latent space itself)."""
        dims = codes.shape[1]
        if dims == 1:
            raise ValueError("a 1-D latent has no plane: it is a line")
        if u == v or not (0 <= u < dims and 0 <= v < dims):
            raise ValueError(f"choose two different dimensions between 0 and {dims - 1}")
        origin = np.zeros(dims) if dims == 2 else codes.mean(axis=0).astype(np.float64)
        origin[[u, v]] = 0.0  # the plane's coordinates are the raw values of z_u and z_v
        eye = np.eye(dims)
        return cls(origin, eye[u], eye[v], f"z{u}", f"z{v}")

    @classmethod
    def of_principal_components(cls, codes: np.ndarray) -> LatentPlane:
        """The plane of the first two principal components, through the mean code (for a single code, which
        has no principal directions, the first two latent dimensions)."""
        mean = codes.mean(axis=0).astype(np.float64)
        _, _, axes = np.linalg.svd(codes - mean, full_matrices=False)  # rows: principal directions
        if len(axes) < 2:  # one code: no second direction
            axes = np.eye(codes.shape[1])
        return cls(mean, axes[0], axes[1], "PC 1", "PC 2")

    def project(self, codes: np.ndarray) -> np.ndarray:
        """Coordinates (N, 2) of the codes' orthogonal projections onto the plane."""
        centred = np.asarray(codes, dtype=np.float64) - self.origin
        return np.column_stack([centred @ self.axis_u, centred @ self.axis_v])

    def lift(self, points: np.ndarray) -> np.ndarray:
        """Codes (N, L) of plane points (N, 2)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return (self.origin + points[:, :1] * self.axis_u + points[:, 1:] * self.axis_v).astype(np.float32)


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> np.ndarray:
    """An n x n grid of plane points (n*n, 2), row by row from the TOP (largest y) down, so that
    the decoded images tile into a picture oriented like the plot."""
    xs = np.linspace(x_range[0], x_range[1], n)
    ys = np.linspace(y_range[1], y_range[0], n)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.column_stack([grid_x.ravel(), grid_y.ravel()])


def gaussian_quantile_points(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """An n x n grid at evenly spaced quantiles of N(0, 1) in each axis (for a VAE's prior), top row first."""
    from scipy.stats import norm

    values = norm.ppf(np.linspace(low, high, n))
    return grid_points((values[0], values[-1]), (values[0], values[-1]), n) if n > 1 else np.zeros((1, 2))


def interpolate(code_a: np.ndarray, code_b: np.ndarray, steps: int, spherical: bool = False) -> np.ndarray:
    """``steps`` codes from ``code_a`` to ``code_b`` inclusive: (steps, L).

    Linear by default; ``spherical`` follows the great circle between the two
    (slerp, Shoemake 1985), which stays where a VAE's Gaussian prior has its mass.
    """
    a, b = np.asarray(code_a, dtype=np.float64), np.asarray(code_b, dtype=np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if spherical:
        cos_omega = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
        omega = np.arccos(np.clip(cos_omega, -1.0, 1.0))
        if omega > 1e-6:
            return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)
    return ((1 - t) * a + t * b).astype(np.float32)


def bilinear_grid(corners: np.ndarray, n: int) -> np.ndarray:
    """An n x n grid (n*n, L) between four corner codes ordered top-left, top-right, bottom-left,
    bottom-right (lecture 004's grid between four digits), row by row from the top."""
    top_left, top_right, bottom_left, bottom_right = np.asarray(corners, dtype=np.float64)
    t = np.linspace(0.0, 1.0, n)
    rows = []
    for v in t:
        left, right = (1 - v) * top_left + v * bottom_left, (1 - v) * top_right + v * bottom_right
        rows.append((1 - t)[:, None] * left + t[:, None] * right)
    return np.concatenate(rows).astype(np.float32)


def bilinear_point(corners: np.ndarray, u: float, v: float) -> np.ndarray:
    """The code (L,) at (u, v) in [0, 1]² of the bilinear blend of four corner codes (ordered as in
    :func:`bilinear_grid`): u runs left to right, v top to bottom."""
    top_left, top_right, bottom_left, bottom_right = np.asarray(corners, dtype=np.float64)
    top, bottom = (1 - u) * top_left + u * top_right, (1 - u) * bottom_left + u * bottom_right
    return ((1 - v) * top + v * bottom).astype(np.float32)


def nearest_neighbours(bank: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances (each (M, k)) of the ``k`` codes of ``bank`` (N, L) nearest to each
    query (M, L), nearest first."""
    bank_t = torch.as_tensor(np.asarray(bank), dtype=torch.float32)
    queries_t = torch.as_tensor(np.asarray(queries), dtype=torch.float32).reshape(-1, bank_t.shape[1])
    k = min(k, len(bank_t))
    distances = torch.cdist(queries_t, bank_t)  # (M, N)
    values, indices = torch.topk(distances, k, dim=1, largest=False, sorted=True)
    return indices.numpy(), values.numpy()


def sample_codes(latent_dim: int, n: int, seed: int, around: np.ndarray | None = None,
                 noise: float = 1.0) -> np.ndarray:
    """``n`` codes (n, L): from N(0, I) (a VAE's prior), or ``around`` a code plus ``noise`` * N(0, I)
    (lecture 001's "latent vector + noise")."""
    rng = np.random.default_rng(seed)
    centre = np.zeros(latent_dim) if around is None else np.asarray(around, dtype=np.float64)
    scale = 1.0 if around is None else noise
    return (centre + scale * rng.standard_normal((n, latent_dim))).astype(np.float32)


def class_name(class_names: tuple[str, ...], label: int) -> str:
    """The name of class ``label``, or the label itself when the run names no such class."""
    return class_names[label] if 0 <= label < len(class_names) else str(label)


def write_latent_csv(path: str | Path, codes: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...] = (),
                     projections: dict[str, np.ndarray] | None = None) -> Path:
    """CSV with index, label, class, z0..z{L-1} and, per projection, NAME_x, NAME_y (lecture 000's
    file for Tableau). ``projections`` maps a name (e.g. "pca") to (N, 2) coordinates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        write_latent_rows(handle, codes, labels, class_names, projections)
    return path


def latent_csv_text(codes: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...] = (),
                    projections: dict[str, np.ndarray] | None = None, names: list[str] | None = None) -> str:
    """The same CSV as :func:`write_latent_csv`, as a string (for a download button); ``names`` adds
    a "file" column (image folders)."""
    import io

    buffer = io.StringIO()
    write_latent_rows(buffer, codes, labels, class_names, projections, names)
    return buffer.getvalue()


def write_latent_rows(handle, codes: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...] = (),
                      projections: dict[str, np.ndarray] | None = None, names: list[str] | None = None) -> None:
    projections = projections or {}
    writer = csv.writer(handle)
    header = ["index", *(["file"] if names is not None else []), "label", "class",
              *(f"z{j}" for j in range(codes.shape[1]))]
    header += [f"{name}_{axis}" for name in projections for axis in ("x", "y")]
    writer.writerow(header)
    columns = [points for points in projections.values()]
    for index, (label, code) in enumerate(zip(np.asarray(labels).tolist(), codes, strict=True)):
        name = class_name(class_names, label)
        extra = [f"{value:.6g}" for points in columns for value in points[index]]
        file = [names[index]] if names is not None else []
        writer.writerow([index, *file, label, name, *(f"{value:.6g}" for value in code), *extra])
