"""A seeded, small fuzz of what a user can hand the server: images, archives and run folders, mutated
(truncated, bit-flipped, given wrong sizes and wrong headers) and driven through the entry points the
Your-images page and the CLI use (ingest_uploads, load_dataset on a folder, read_run_config, load_run,
TrainingState.from_run).

The campaign runs in a fresh process (``python tests/test_fuzz.py WORK``) so that its peak memory can be
measured alone. It asserts that every input is either refused with one AecoreError line or loaded with the
bad parts skipped (never another exception), that nothing is written outside the extraction folder, and
that the peak resident memory grows by less than MEMORY_GROWTH_LIMIT over a warm-up on valid inputs: the
1 GiB archive bomb, a 30,000-entry archive index and configs describing huge models included.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import shutil
import stat
import struct
import subprocess
import sys
import traceback
import zipfile
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from aecore.checkpoints import load_run, read_run_config, save_run
from aecore.config import DataConfig
from aecore.data import Normalizer, load_dataset
from aecore.errors import AecoreError
from aecore.models import build_model
from aecore.presets import preset_config
from aecore.training import TrainingState
from aecore.uploads import Upload, ingest_uploads

ROOT = Path(__file__).resolve().parent.parent
SEED = 14
CASES = 40  # mutated inputs of each kind
MEMORY_GROWTH_LIMIT = 200 * 2**20  # bytes of peak RSS the whole campaign may add after the warm-up
MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00\x10JF", b"GIF89a\x10\x00", b"BM\x36\x03\x00\x00\x00\x00",
          b"PK\x03\x04\x14\x00\x00\x00", b"II*\x00\x08\x00\x00\x00", b"RIFF\x00\x00\x00\x00", b"\x00" * 8)
ODD_SIZES = (0, 1, 255, 65_535, 900_000, 2**31 - 1, 2**32 - 1)
SUFFIXES = ("png", "jpg", "gif", "bmp", "tif", "webp")  # of the seed images, in order


def test_mutated_images_archives_and_runs_are_refused_or_skipped_within_bounds(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True, timeout=900,
                            cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["uncaught"] == [], "\n".join(report["uncaught"])
    assert report["outside"] == []
    assert report["cases"] >= 3 * CASES and report["refused"] and report["loaded"]  # both outcomes were reached
    growth = report["peak_rss"] - report["baseline_rss"]
    assert growth < MEMORY_GROWTH_LIMIT, f"peak memory grew by {growth / 2**20:.0f} MiB"


# ---------------------------------------------------------------------------------------- mutations


def _mutate(rng: random.Random, data: bytes, sizes=None) -> bytes:
    """One random damage: truncation, bit flips, overwritten bytes, a wrong header, a wrong size, a repeat."""
    kind = rng.choice(["truncate", "flip", "overwrite", "header", "size", "repeat"])
    if not data or kind == "truncate":
        return data[:rng.randrange(len(data) + 1)]
    buffer = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(buffer))
            buffer[position] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        start = rng.randrange(len(buffer))
        buffer[start:start + rng.randint(1, 16)] = rng.randbytes(rng.randint(1, 16))
    elif kind == "header":
        buffer[:8] = rng.choice(MAGICS)
    elif kind == "size":
        return (sizes or _any_size)(rng, bytes(buffer))
    else:
        start = rng.randrange(len(buffer))
        buffer[start:start] = buffer[start:start + rng.randint(1, 4096)]
    return bytes(buffer)


def _any_size(rng: random.Random, data: bytes) -> bytes:
    """A size-like field (4 bytes in the first 64, either byte order) set to an odd value."""
    position = rng.randrange(0, max(1, min(60, len(data) - 4)))
    value = rng.choice(ODD_SIZES).to_bytes(4, rng.choice(["little", "big"]))
    return data[:position] + value + data[position + 4:]


def _png_size(rng: random.Random, data: bytes) -> bytes:
    """A PNG whose header (IHDR) claims another width and height: zero, huge or merely wrong."""
    if data[:8] != MAGICS[0]:
        return _any_size(rng, data)
    width, height = rng.choice(ODD_SIZES[:6]), rng.choice(ODD_SIZES[:6])
    return data[:16] + struct.pack(">II", width, height) + data[24:]


def _zip_records(data: bytes) -> list[tuple[str, int]]:
    """(kind, offset) of every local ("local") and central ("central") header in a zip."""
    found = []
    for kind, signature in (("local", b"PK\x03\x04"), ("central", b"PK\x01\x02")):
        at = data.find(signature)
        while at >= 0:
            found.append((kind, at))
            at = data.find(signature, at + 4)
    return found


# offsets, from a header's start, of its flags, packed size and unpacked size (APPNOTE.TXT 4.3.7, 4.3.12)
FIELDS = {"local": {"flags": 6, "packed": 18, "size": 22}, "central": {"flags": 8, "packed": 20, "size": 24,
                                                                          "mode": 38}}


def _patch(data: bytes, kind: str, at: int, field: str, value: int, width: int = 4) -> bytes:
    offset = at + FIELDS[kind][field]
    return data[:offset] + value.to_bytes(width, "little") + data[offset + width:]


def _zip_size(rng: random.Random, data: bytes) -> bytes:
    """A zip entry declaring another packed or unpacked size, in its local or central header."""
    records = _zip_records(data)
    if not records:
        return _any_size(rng, data)
    kind, at = rng.choice(records)
    return _patch(data, kind, at, rng.choice(["packed", "size"]), rng.choice(ODD_SIZES))


def _for_every_entry(data: bytes, field: str, value: int, *, width: int = 4, kinds=("local", "central")) -> bytes:
    for kind, at in _zip_records(data):
        if kind in kinds:
            data = _patch(data, kind, at, field, value, width)
    return data


# ---------------------------------------------------------------------------------------- seeds


def _image_bytes(fmt: str, color, size=(12, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def _seed_images() -> list[bytes]:
    formats = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
    return [_image_bytes(fmt, (40 * i, 200 - 30 * i, 90)) for i, fmt in enumerate(formats)]


def _seed_archive(images: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (content, suffix) in enumerate(zip(images, SUFFIXES, strict=True)):
            method = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            archive.writestr(f"set/{'happy' if i < 3 else 'angry'}/{i}.{suffix}", content, compress_type=method)
    return buffer.getvalue()


def _bomb_archive() -> bytes:
    """The issue's bomb: one entry of 1 GiB of zeros (~1 MB packed) that declares 900 kB, beside a good image."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("c/good.png", _image_bytes("PNG", (10, 20, 30)))
        with archive.open("c/bomb.png", "w") as entry:
            zeros = bytes(2**20)
            for _ in range(1024):
                entry.write(zeros)
    data = buffer.getvalue()
    bomb = [at for kind, at in _zip_records(data) if data[at + (30 if kind == "local" else 46):].startswith(b"c/bomb")]
    for at in bomb:
        kind = "local" if data[at:at + 4] == b"PK\x03\x04" else "central"
        data = _patch(data, kind, at, "size", 900_000)
    return data


def _crafted_archives(seed: bytes) -> dict[str, bytes]:
    """Hand-made hostile archives: a bomb, encrypted, link and device entries, an index of 30,000 entries."""
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for i in range(30_000):
            archive.writestr(f"c/{i}.png", b"")
    link, device = (stat.S_IFLNK | 0o777) << 16, (stat.S_IFCHR | 0o600) << 16
    return {
        "bomb": _bomb_archive(),
        "encrypted": _for_every_entry(seed, "flags", 0x1, width=2),
        "links": _for_every_entry(seed, "mode", link, kinds=("central",)),
        "devices": _for_every_entry(seed, "mode", device, kinds=("central",)),
        "many entries": many.getvalue(),
    }


def _seed_run(folder: Path) -> Path:
    """A tiny MLP run on 1x8x8 inputs with a standardising normaliser and Adam state: every file a run has."""
    config = preset_config("ae", dataset="digits", latent=2, epochs=1)
    config = replace(config, model=replace(config.model, hidden=(8,)))
    model = build_model(config.model, (1, 8, 8))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 1, 8, 8)).recon.sum().backward()
    optimizer.step()
    normalizer = Normalizer(torch.rand(1, 8, 8), torch.rand(1, 8, 8) + 0.5)
    return save_run(folder, config=config, model=model, history=[{"epoch": 1, "step": 1, "train": {"loss": 0.5}}],
                    class_names=("happy", "angry"), optimizer_state=optimizer.state_dict(), normalizer=normalizer)


def _config_size(rng: random.Random, data: bytes) -> bytes:
    """A config.json describing another model: widths, code, input shape, architecture or classes changed."""
    try:
        raw = json.loads(data)
        model = raw["run"]["model"]
    except (ValueError, KeyError, TypeError):
        return _any_size(rng, data)
    change = rng.choice(["hidden", "latent_dim", "input_shape", "arch", "variational", "class_names"])
    if change == "hidden":
        model["hidden"] = [rng.choice([1, 7, 8, 512, 16_384]) for _ in range(rng.randint(0, 4))]
    elif change == "latent_dim":
        model["latent_dim"] = rng.choice([0, 1, 3, 4096, 2**40, -1, "2"])
    elif change == "input_shape":
        raw["input_shape"] = rng.choice([[3, 1024, 1024], [1, 0, 8], [1, -1, 8], [2**31, 1, 1], [1, 8], [8, 8, 8],
                                         "1x8x8", [1.5, 8, 8]])
    elif change == "arch":
        model["arch"] = rng.choice(["conv", "nope", "", 7])
    elif change == "variational":
        model["variational"] = not model.get("variational", False)
    else:
        raw["class_names"] = rng.choice([["caf\udce9", "\u202eevil"], ["x" * 10_000], [None, {}], "ab"])
    return json.dumps(raw).encode()


def _header_size(rng: random.Random, data: bytes) -> bytes:
    """A safetensors file whose header length, a tensor's shape or its offsets are wrong."""
    if len(data) < 8:
        return data
    length = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + length])
        name = rng.choice([key for key in header if key != "__metadata__"])
    except (ValueError, IndexError):
        return rng.choice(ODD_SIZES).to_bytes(8, "little") + data[8:]
    change = rng.choice(["length", "shape", "offsets", "dtype"])
    if change == "length":
        return (length + rng.choice([-1, 1, 2**20, 2**40])).to_bytes(8, "little", signed=True) + data[8:]
    if change == "shape":
        header[name]["shape"] = [rng.choice([0, 1, 3, 2**20, 2**40]) for _ in range(rng.randint(0, 4))]
    elif change == "offsets":
        header[name]["data_offsets"] = [rng.choice([0, 4, 2**40]), rng.choice([0, 4, 2**40, -4])]
    else:
        header[name]["dtype"] = rng.choice(["F64", "I8", "BOOL", "F8_E4M3", "??"])
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data[8 + length:]


# 1 kB configs describing MLPs of 51 billion, 3.2 billion and (just over the cap) 101 million weights
HUGE_MODELS = (([16_384, 16_384], [3, 1024, 1024]), ([2048], [3, 512, 512]), ([64], [3, 512, 512]))
RUN_SIZES = {"config.json": _config_size, "model.safetensors": _header_size, "optimizer.safetensors": _header_size}


# ---------------------------------------------------------------------------------------- the campaign


class Campaign:
    """Drives inputs through the entry points and records what escaped."""

    def __init__(self, work: Path) -> None:
        self.work, self.uncaught, self.outside = work, [], []
        self.cases = self.refused = self.loaded = 0

    def attempt(self, label: str, action) -> bool:
        """Run ``action``; True when it succeeded, False when refused with one AecoreError line."""
        self.cases += 1
        try:
            action()
        except AecoreError as exc:
            self.refused += 1
            if "\n" in str(exc) or not str(exc):
                self.uncaught.append(f"{label}: a refusal that is not one line: {str(exc)!r}")
            return False
        except Exception as exc:  # noqa: BLE001  (the point: anything else is a finding)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.uncaught.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]} at {where.filename}:{where.lineno}")
            return False
        self.loaded += 1
        return True

    def image_folder(self, label: str, images: dict[str, bytes]) -> None:
        folder = self.work / "images" / label
        (folder / "good").mkdir(parents=True)
        (folder / "odd").mkdir()
        (folder / "good" / "fine.png").write_bytes(_image_bytes("PNG", (200, 10, 10)))
        for name, content in images.items():
            (folder / "odd" / name).write_bytes(content)
        self.attempt(f"image folder {label}",
                     lambda: load_dataset(DataConfig(name=f"folder:{folder}", image_size=16, val_fraction=0.0)))

    def archive(self, label: str, data: bytes, as_file: bool = False) -> None:
        sandbox = self.work / "sandbox"
        destination = sandbox / "a" / "b" / "c" / "d" / "e" / "out" / label  # '..' x 7 still lands in the sandbox
        before = {p for p in sandbox.rglob("*")} if sandbox.exists() else set()
        upload = Upload("upload.zip", io.BytesIO(data) if as_file else data)
        if self.attempt(f"archive {label}", lambda: ingest_uploads([upload], destination)):
            self.attempt(f"archive {label} loaded",
                         lambda: load_dataset(DataConfig(name=f"folder:{destination}", image_size=16)))
        for path in set(sandbox.rglob("*")) - before:
            if path.is_symlink() or not (path == destination or destination in path.parents
                                         or path in destination.parents):
                self.outside.append(f"archive {label} wrote {path}")

    def run_folder(self, label: str, folder: Path) -> None:
        def read() -> None:
            read_run_config(folder)
            run = load_run(folder)
            run.model.encode(torch.zeros(1, *run.model.input_shape))
            TrainingState.from_run(run)

        self.attempt(f"run {label}", read)


def campaign(work: Path) -> dict:
    """Warm up on valid inputs, then drive CASES mutated images, archives and run folders, and crafted ones."""
    torch.set_num_threads(1)
    rng = random.Random(SEED)
    run = Campaign(work)
    images = _seed_images()
    archive = _seed_archive(images)
    crafted = _crafted_archives(archive)
    seed_run = _seed_run(work / "seed-run")
    run.image_folder("warm-up", {f"{i}.{suffix}": image for i, (suffix, image) in
                                 enumerate(zip(SUFFIXES, images, strict=True))})
    run.archive("warm-up", archive)
    run.run_folder("warm-up", seed_run)
    assert run.uncaught == [] and run.refused == 0, run.uncaught  # the seeds themselves are good
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    for case in range(CASES):
        odd = {f"{n}.{rng.choice(SUFFIXES)}": _mutate(rng, rng.choice(images), _png_size) for n in range(3)}
        run.image_folder(f"{case}", odd)
    for case in range(CASES):
        data = archive
        for _ in range(rng.randint(1, 2)):
            data = _mutate(rng, data, _zip_size)
        run.archive(f"{case}", data, as_file=case % 2 == 1)
    for name, data in crafted.items():
        run.archive(name.replace(" ", "-"), data)
    for case in range(CASES):
        folder = work / "runs" / str(case)
        shutil.copytree(seed_run, folder)
        target = folder / rng.choice([*RUN_SIZES, "history.json"])
        if rng.random() < 0.1:
            target.unlink()
        else:
            target.write_bytes(_mutate(rng, target.read_bytes(), RUN_SIZES.get(target.name)))
        run.run_folder(f"{case} ({target.name})", folder)
    for hidden, shape in HUGE_MODELS:
        folder = work / "runs" / f"huge-{hidden[0]}-{shape[-1]}"
        shutil.copytree(seed_run, folder)
        raw = json.loads((folder / "config.json").read_text())
        raw["run"]["model"]["hidden"], raw["input_shape"] = hidden, shape
        (folder / "config.json").write_text(json.dumps(raw))
        run.run_folder(folder.name, folder)
    return {"uncaught": run.uncaught, "outside": run.outside, "cases": run.cases, "refused": run.refused,
            "loaded": run.loaded, "baseline_rss": baseline,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


if __name__ == "__main__":
    print(json.dumps(campaign(Path(sys.argv[1]))))
