"""Your own images, safely: uploads (zip archives of class folders, loose images) and folders on the server
turned into a labelled image folder, and the run config to train a conv autoencoder on it.

Uploads may be hostile. Nothing an upload contains can escape its destination
folder (absolute paths and ``..`` are refused; links, devices and encrypted
entries are skipped, never created or read), exhaust the disk or memory (every
entry is inflated in chunks and stopped at the size it declares; what the
entries declare must fit the free disk space, less a reserve; the entry count
and the archive's index are capped; zip bombs are refused whole; at most
MAX_CONCURRENT_EXTRACTIONS archives unpack at once) or stop the
rest of the upload (each bad entry is skipped with a reason). Every cap is
declared once, in :mod:`aecore.limits`. Images themselves are checked when the
folder is loaded (:func:`aecore.data.load_image_folder`). Folders on the server
are off unless the operator names allowed roots in AECORE_IMAGE_ROOTS.
"""

from __future__ import annotations

import dataclasses
import io
import lzma
import os
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from aecore.config import RunConfig
from aecore.data import IMAGE_SUFFIXES, safe_name
from aecore.describe import counted
from aecore.errors import DataError
from aecore.image_stream import check_disk_space
from aecore.limits import (
    COMPRESSION_RATIO_FLOOR,
    EXTRACT_CHUNK_BYTES,
    EXTRACTION_WAIT_SECONDS,
    MAX_ARCHIVE_INDEX_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_CONCURRENT_EXTRACTIONS,
    MAX_FILES,
    megabytes,
)
from aecore.presets import preset_config

IMAGE_ROOTS_ENV = "AECORE_IMAGE_ROOTS"
SERVER_FOLDERS_OFF = (f"Reading folders on the server is off. The server's operator turns it on by starting it with "
                      f"{IMAGE_ROOTS_ENV}=/data/class (several folders separated by '{os.pathsep}'); then any folder "
                      "inside those can be named here.")
DEFAULT_CLASS = "my-class"
ENCRYPTED = 0x1  # ZipInfo.flag_bits: the entry is password-protected
# What reading a damaged archive or entry raises (zlib.error and lzma.LZMAError are not OSErrors).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
               zlib.error, lzma.LZMAError, NotImplementedError)
_extraction_slots = threading.BoundedSemaphore(MAX_CONCURRENT_EXTRACTIONS)


@dataclass
class UploadReport:
    """What an upload produced: the class folders written and the files skipped, with reasons."""

    root: Path
    counts: dict[str, int] = field(default_factory=dict)  # class -> images written
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (safe name in the upload, reason)
    written_bytes: int = 0  # on disk, all files together
    entries: int = 0  # files seen, all archives together: at most MAX_FILES

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name, its content (bytes or a seekable binary file) and, for a loose image,
    the class it belongs to."""

    name: str
    content: bytes | BinaryIO
    class_name: str = DEFAULT_CLASS

    @property
    def is_archive(self) -> bool:
        return self.name.lower().endswith(".zip")


def ingest_uploads(uploads: Sequence[Upload], destination: Path) -> UploadReport:
    """Write one browser upload into ``destination``/<class>/: archives unpacked, loose images into their class.

    All files share one report and one set of caps (MAX_FILES; the free disk space). A damaged archive, an
    upload over a cap or one the disk has no room for is refused whole with a DataError; a bad entry or file
    is skipped with its reason.
    """
    report = UploadReport(destination)
    for upload in uploads:
        if upload.is_archive:
            extract_zip(upload.content, destination, name=upload.name, report=report)
    loose = [upload for upload in uploads if not upload.is_archive]
    if loose:
        save_labelled_images([(u.name, _read_all(u.content), u.class_name) for u in loose], destination, report=report)
    if not report.total:
        raise DataError("the upload holds no images")
    return report


def _read_all(content: bytes | BinaryIO) -> bytes:
    if isinstance(content, bytes):
        return content
    content.seek(0)
    return content.read()


# ---------------------------------------------------------------------------------------- archives


def extract_zip(data: bytes | BinaryIO, destination: Path, *, name: str = "the archive",
                report: UploadReport | None = None) -> UploadReport:
    """Unpack an archive of ``<class>/<image>`` into ``destination``/<class>/.

    A single top-level folder holding the class folders is looked through. Entries
    outside any class folder, non-images, unsafe names, links, devices and encrypted
    entries are skipped with a reason (hidden files and ``__MACOSX`` silently); an
    entry that inflates past the size it declares is cut off and skipped. A corrupt
    or truncated archive, one over a cap, one that would unpack to more than the disk
    has free (:func:`aecore.image_stream.check_disk_space`) or that inflates too much
    for its size (a zip bomb) is refused whole with a DataError naming ``name``; so is
    one with no image.
    At most MAX_CONCURRENT_EXTRACTIONS archives unpack at once; others wait up to
    EXTRACTION_WAIT_SECONDS. ``report``, when given, is added to (and its caps shared).
    """
    report = report if report is not None else UploadReport(destination)
    if not _extraction_slots.acquire(timeout=EXTRACTION_WAIT_SECONDS):
        raise DataError(f"the server is busy unpacking {MAX_CONCURRENT_EXTRACTIONS} other uploads; "
                        "try again in a minute")
    try:
        written = _extract(data if not isinstance(data, bytes) else io.BytesIO(data), destination, name, report)
    finally:
        _extraction_slots.release()
    if not written:
        skipped = len(report.skipped)
        raise DataError(f"{name} has no images inside class folders: expected <class>/<image> entries"
                        + (f" ({counted(skipped, 'file')} skipped)" if skipped else ""))
    return report


def _extract(source: BinaryIO, destination: Path, name: str, report: UploadReport) -> int:
    """Unpack into ``destination``; the number of images written."""
    _check_archive_index(source, name)
    try:
        archive = zipfile.ZipFile(source)
        entries = [info for info in archive.infolist() if not _is_folder(info)]
    except _ZIP_ERRORS as exc:
        raise DataError(f"{name} is not a readable zip archive ({_why(exc)}); was it cut short?") from None
    with archive:
        report.entries += len(entries)
        if report.entries > MAX_FILES:
            raise DataError(f"{name}: the upload holds {report.entries:,} files; at most {MAX_FILES:,} are accepted")
        plan, strip = [], _top_folder_depth(entries)
        for info in entries:
            target, problem = _entry_target(info, strip)
            if problem:
                report.skipped.append((safe_name(info.filename, path_part=False), problem))
            elif target:
                plan.append((info, target))
        for info, _ in plan:
            if info.file_size > max(COMPRESSION_RATIO_FLOOR, MAX_COMPRESSION_RATIO * info.compress_size):
                raise DataError(f"{name}: {safe_name(info.filename, path_part=False)} would unpack "
                                f"{info.file_size // max(1, info.compress_size):,} times larger than it is packed: "
                                "refusing a possible zip bomb")
        check_disk_space(destination, sum(info.file_size for info, _ in plan), f"{name} unpacked")
        written = 0
        for info, (class_name, file_name) in plan:
            problem = _unpack(archive, info, destination, class_name, file_name, report)
            if problem:
                report.skipped.append((safe_name(info.filename, path_part=False), problem))
            else:
                written += 1
    return written


def _check_archive_index(source: BinaryIO, name: str) -> None:
    """Refuse an archive whose index (central directory) is larger than MAX_FILES entries need.

    zipfile builds one object per index record before anything can be counted: a 50 MB upload of
    empty entries would cost ~0.3 GB. The end record's sizes are read first (zip64's when present).
    """
    source.seek(0, io.SEEK_END)
    size = source.tell()
    tail_start = max(0, size - 22 - 0xFFFF)  # the end record: 22 bytes and a comment of up to 64 KiB
    source.seek(tail_start)
    tail = source.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # not a zip: zipfile says so
    entries, index_bytes = struct.unpack("<HI", tail[at + 10:at + 16])
    locator = tail[at - 20:at] if at >= 20 else b""
    if (entries == 0xFFFF or index_bytes == 0xFFFFFFFF) and locator[:4] == b"PK\x06\x07":
        source.seek(struct.unpack("<Q", locator[8:16])[0])
        record = source.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, index_bytes = struct.unpack("<QQ", record[32:48])
    source.seek(0)
    if entries > MAX_FILES or index_bytes > MAX_ARCHIVE_INDEX_BYTES:
        raise DataError(f"{name} lists {entries:,} entries in a {megabytes(index_bytes)} index; at most "
                        f"{MAX_FILES:,} files are accepted")


def _is_folder(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or stat.S_ISDIR(info.external_attr >> 16)


def _top_folder_depth(entries: list[zipfile.ZipInfo]) -> int:
    """1 when every visible entry sits in one top folder holding class folders (archive/<class>/<image>)."""
    visible = [parts for parts in (_entry_parts(info.filename) for info in entries) if parts and not _hidden(parts)]
    return int(bool(visible) and len({parts[0] for parts in visible}) == 1 and max(map(len, visible)) >= 3)


def _entry_target(info: zipfile.ZipInfo, strip: int) -> tuple[tuple[str, str] | None, str | None]:
    """((class, file name), None) for an entry to unpack; (None, reason) to skip it; (None, None) to ignore it."""
    parts = _entry_parts(info.filename)
    if parts is None:
        return None, "unsafe path (absolute or '..'): refused"
    if _hidden(parts):
        return None, None  # hidden files and macOS resource forks: not the user's images
    kind = stat.S_IFMT(info.external_attr >> 16)  # the Unix file type; 0 when the archiver did not say
    if kind == stat.S_IFLNK:
        return None, "a symbolic link: skipped (links are never unpacked)"
    if kind not in (0, stat.S_IFREG):
        return None, "a device, pipe or socket: skipped"
    if info.flag_bits & ENCRYPTED:
        return None, "encrypted (password-protected): skipped"
    parts = parts[strip:]
    if len(parts) < 2:
        return None, "not inside a class folder"
    if PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
        return None, "not an image file type"
    return (parts[0], parts[-1]), None


def _entry_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of an archive entry, or None if it is absolute or climbs out with '..'."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return None
    return tuple(part for part in path.parts if part not in ("", "."))


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, class_name: str, file_name: str,
            report: UploadReport) -> str | None:
    """Inflate one entry into its class folder in chunks; None when written, else why it was skipped."""
    written, problem, target = 0, None, None
    try:
        with archive.open(info) as source:
            target, sink = _new_file(destination, class_name, file_name)
            with sink:
                while chunk := source.read(EXTRACT_CHUNK_BYTES):
                    written += len(chunk)
                    if written > info.file_size:  # zipfile stops there too; never trust it alone
                        problem = "inflates past the size it declares (a possible zip bomb): skipped"
                        break
                    sink.write(chunk)
    except _ZIP_ERRORS as exc:  # a CRC error, a damaged stream, an unsupported method, a disk filled meanwhile
        problem = f"could not be unpacked ({_why(exc)})"
    if problem:
        if target is not None:
            target.unlink(missing_ok=True)
        return problem
    report.written_bytes += written
    _count(report, class_name)
    return None


def _count(report: UploadReport, class_name: str) -> None:
    key = safe_name(class_name)  # the folder _new_file wrote into
    report.counts[key] = report.counts.get(key, 0) + 1


def _new_file(destination: Path, class_name: str, file_name: str) -> tuple[Path, BinaryIO]:
    """A new file ``destination``/<safe class>/<safe name>, opened for writing; never an existing one.

    Two files of the same name in one class keep both (``name-1.png``). Opening with "xb" never
    follows a link or overwrites a file that is already there.
    """
    folder = destination / safe_name(class_name)
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(destination.resolve()):  # safe_name makes this impossible: check anyway
        raise DataError(f"{safe_name(class_name)} is not a folder inside the upload")
    stem, suffix = safe_name(PurePosixPath(file_name).stem), PurePosixPath(file_name).suffix.lower()
    for number in range(MAX_FILES + 1):
        target = folder / (f"{stem}{suffix}" if number == 0 else f"{stem}-{number}{suffix}")
        try:
            return target, target.open("xb")
        except FileExistsError:
            continue
    raise DataError(f"too many files named {stem}{suffix} in {safe_name(class_name)}")


def _why(exc: BaseException) -> str:
    """One line for a reading error: its type and its first line."""
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {safe_name(text, path_part=False)}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------------- loose images


def save_labelled_images(files: list[tuple[str, bytes, str]], destination: Path, *,
                         report: UploadReport | None = None) -> UploadReport:
    """Write loose uploads ``(file name, bytes, class name)`` into ``destination``/<class>/.

    Class and file names are made safe with :func:`aecore.data.safe_name`; files of another type are
    skipped with a reason; more than MAX_FILES (with ``report``'s), or more bytes than the disk has room for,
    is refused whole.
    """
    report = report if report is not None else UploadReport(destination)
    report.entries += len(files)
    if report.entries > MAX_FILES:
        raise DataError(f"the upload holds {report.entries:,} files; at most {MAX_FILES:,} are accepted")
    check_disk_space(destination, sum(len(content) for _, content, _ in files), "the uploaded images")
    written = 0
    for name, content, class_name in files:
        file_name = PurePosixPath(name.replace("\\", "/")).name
        if PurePosixPath(file_name).suffix.lower() not in IMAGE_SUFFIXES:
            report.skipped.append((safe_name(name, path_part=False), "not an image file type"))
            continue
        class_name = class_name or DEFAULT_CLASS
        _, sink = _new_file(destination, class_name, file_name)
        with sink:
            sink.write(content)
        report.written_bytes += len(content)
        _count(report, class_name)
        written += 1
    if not written:
        raise DataError("none of the uploaded files is an image")
    return report


# ---------------------------------------------------------------------------------------- server folders


def allowed_image_roots() -> tuple[Path, ...]:
    """The folders pages may read images from: AECORE_IMAGE_ROOTS (separated by os.pathsep), resolved.

    None by default: reading folders on the server is then off.
    """
    raw = os.environ.get(IMAGE_ROOTS_ENV, "")
    return tuple(Path(part).resolve() for part in raw.split(os.pathsep) if part.strip())


def server_image_folder(path: str) -> Path:
    """The folder ``path`` names, resolved (all links followed), if it lies inside an allowed root.

    A relative ``path`` is looked up under each root. Refuses, with one DataError line, when no root is
    allowed, and alike for a path that is missing and one outside the roots (saying which is which
    would tell a browser what exists elsewhere on the server).
    """
    roots = allowed_image_roots()
    if not roots:
        raise DataError(SERVER_FOLDERS_OFF)
    text = path.strip()
    candidates = [Path(text)] if Path(text).is_absolute() else [root / text for root in roots]
    for candidate in candidates:
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a link loop, no permission
            continue
        if real.is_dir() and any(real.is_relative_to(root) for root in roots):
            return real
    shown = ", ".join(str(root) for root in roots)
    raise DataError(f"{safe_name(text, path_part=False)} is not a folder inside the allowed folders ({shown})")


# ---------------------------------------------------------------------------------------- training on them


def conv_channels(image_size: int) -> tuple[int, ...]:
    """Conv channels for square images of ``image_size``: 3 stride-2 blocks up to 64 px, 4 up to 128, else 5.

    The last feature map stays 4-8 pixels wide, so the Linear code head stays small.
    """
    blocks = 3 if image_size <= 64 else 4 if image_size <= 128 else 5
    return (32, 64, 128, 256, 256)[:blocks]


def folder_run_config(folder: str | Path, *, image_size: int, color: str, latent: int, test_fraction: float,
                      variational: bool, epochs: int = 50, batch_size: int = 16) -> RunConfig:
    """The run config to train a conv AE (or VAE) on an image folder, its depth chosen from ``image_size``."""
    config = preset_config("conv-vae" if variational else "conv-ae", dataset=f"folder:{folder}",
                           image_size=image_size, color=color, latent=latent, test_fraction=test_fraction,
                           epochs=epochs, batch_size=batch_size)
    return dataclasses.replace(config, model=dataclasses.replace(config.model, hidden=conv_channels(image_size)))
