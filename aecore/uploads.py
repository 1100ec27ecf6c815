"""Turning uploads into a labelled image folder, safely: zip archives of class folders, or loose images.

Nothing an upload contains can escape its destination folder (absolute paths
and ``..`` are refused), exhaust the disk (total size, file count and
compression ratio are capped: zip bombs are refused whole) or stop the rest of
the upload (each bad member is skipped with a reason). Images themselves are
checked when the folder is loaded (:func:`aecore.data.load_image_folder`).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from aecore.data import IMAGE_SUFFIXES
from aecore.errors import DataError

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # unpacked, per upload
MAX_FILES = 20_000
MAX_COMPRESSION_RATIO = 200  # a member that unpacks to more than this many times its packed size is a bomb
CLASS_NAME = re.compile(r"[^A-Za-z0-9 _.-]+")


@dataclass
class UploadReport:
    """What an upload produced: the class folders written and the files skipped, with reasons."""

    root: Path
    counts: dict[str, int] = field(default_factory=dict)  # class -> images written
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name in the upload, reason)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def clean_class_name(name: str) -> str:
    """A safe folder name for a class: letters, digits, space, '_', '.', '-'; never empty, never hidden."""
    cleaned = re.sub(r"\.{2,}", "_", CLASS_NAME.sub("_", name))  # "/" and ".." cannot survive
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip(" ._-")
    return cleaned[:64] or "unnamed"


def _member_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of a zip member, or None if it is absolute or climbs out with '..'."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return None
    return tuple(part for part in path.parts if part not in ("", "."))


def extract_zip(data: bytes, destination: Path) -> UploadReport:
    """Unpack an archive of ``<class>/<image>`` into ``destination``/<class>/.

    A single top-level folder holding the class folders is looked through. Members
    outside any class folder, hidden files, non-images and unsafe names are skipped
    with a reason; a corrupt or truncated archive, one with too many files, or one
    that would unpack to too much (a zip bomb) is refused whole with a DataError.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise DataError(f"the upload is not a readable zip archive ({exc}); was it cut short?") from None
    if len(members) > MAX_FILES:
        raise DataError(f"the archive holds {len(members):,} files; at most {MAX_FILES:,} are accepted")
    unpacked = sum(info.file_size for info in members)
    if unpacked > MAX_UPLOAD_BYTES:
        raise DataError(f"the archive would unpack to {unpacked / 1e6:,.0f} MB; at most "
                        f"{MAX_UPLOAD_BYTES / 1e6:,.0f} MB are accepted")
    for info in members:
        if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
            raise DataError(f"{info.filename} would unpack {info.file_size // max(1, info.compress_size):,} times "
                            "larger than it is packed: refusing a possible zip bomb")

    parts_of = {info.filename: _member_parts(info.filename) for info in members}
    visible = [parts for parts in parts_of.values() if parts and not _hidden(parts)]
    # archive/<class>/<image>: look through the single top folder "archive"
    strip = int(bool(visible) and len({parts[0] for parts in visible}) == 1 and max(map(len, visible)) >= 3)

    report = UploadReport(destination)
    for info in members:
        parts = parts_of[info.filename]
        if parts is None:
            report.skipped.append((info.filename, "unsafe path (absolute or '..'): refused"))
            continue
        if _hidden(parts):
            continue  # hidden files and macOS resource forks: not the user's images
        parts = parts[strip:]
        if len(parts) < 2:
            report.skipped.append((info.filename, "not inside a class folder"))
            continue
        if PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            report.skipped.append((info.filename, "not an image file type"))
            continue
        try:
            content = archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:  # e.g. a CRC error in a damaged member
            report.skipped.append((info.filename, f"could not be unpacked ({type(exc).__name__})"))
            continue
        _write(report, clean_class_name(parts[0]), parts[-1], content)
    if not report.total:
        raise DataError("the archive has no images inside class folders: expected <class>/<image> entries"
                        + (f" ({len(report.skipped)} files skipped)" if report.skipped else ""))
    return report


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def save_labelled_images(files: list[tuple[str, bytes, str]], destination: Path) -> UploadReport:
    """Write loose uploads ``(file name, bytes, class name)`` into ``destination``/<class>/."""
    report = UploadReport(destination)
    total = 0
    for name, content, class_name in files:
        total += len(content)
        if total > MAX_UPLOAD_BYTES:
            raise DataError(f"the images add up to more than {MAX_UPLOAD_BYTES / 1e6:,.0f} MB")
        if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            report.skipped.append((name, "not an image file type"))
            continue
        _write(report, clean_class_name(class_name), PurePosixPath(name.replace("\\", "/")).name, content)
    if not report.total:
        raise DataError("none of the uploaded files is an image")
    return report


def _write(report: UploadReport, class_name: str, file_name: str, content: bytes) -> None:
    folder = report.root / class_name
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = PurePosixPath(clean_class_name(file_name)).stem, PurePosixPath(file_name).suffix.lower()
    target = folder / f"{stem}{suffix}"
    number = 1
    while target.exists():  # two files of the same name in one class keep both
        target = folder / f"{stem}-{number}{suffix}"
        number += 1
    target.write_bytes(content)
    report.counts[class_name] = report.counts.get(class_name, 0) + 1
