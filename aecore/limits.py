"""Every limit on untrusted input, declared once.

Uploads, archives, image folders and run folders may be hostile. Each cap
below is the one number the code checks, the message a user reads and the
server setting that enforces it: ``.streamlit/config.toml``'s
``server.maxUploadSize`` cannot import Python, so a test asserts that it equals
:data:`MAX_UPLOAD_MB`, and the page passes the same number to
``st.file_uploader(max_upload_size=...)``.

A leaf: imports nothing of aecore.
"""

from __future__ import annotations

MIB = 1024 * 1024  # Streamlit's "MB" (server.maxUploadSize) is a mebibyte

# uploads and archives
MAX_UPLOAD_MB = 50  # one file a browser sends; = server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * MIB
DISK_RESERVE_BYTES = 512 * MIB  # free disk an upload, extraction or image cache must leave on its filesystem
MAX_FILES = 100_000  # entries in one upload, files in one image folder
MAX_ARCHIVE_INDEX_BYTES = MAX_FILES * 256  # an archive's index (central directory): ~256 bytes a file at most
MAX_COMPRESSION_RATIO = 200  # an entry declaring more than this many times its packed size is a bomb
COMPRESSION_RATIO_FLOOR = 1_000_000  # entries declaring less than this are never called bombs
EXTRACT_CHUNK_BYTES = 1 * MIB  # an entry is inflated and written this much at a time
MAX_CONCURRENT_EXTRACTIONS = 2  # archives unpacked at once in one server process; others wait
EXTRACTION_WAIT_SECONDS = 120.0  # ... this long, then are refused ("the server is busy")

# images and image folders
MAX_IMAGE_PIXELS = 40_000_000  # width x height; larger images are skipped before they are decoded
MEMORY_BUDGET_BYTES = 1024 * MIB  # a folder's float32 images up to this are held in memory; larger ones stream
MAX_NAME_CHARS = 64  # class and file names are cut to this many characters (…)
MAX_NAME_BYTES = 200  # and to this many UTF-8 bytes, under the 255 of a file name on disk

# run folders
MAX_MODEL_PARAMETERS = 100_000_000  # weights and buffers of a model a run folder may describe (400 MB float32)
MAX_INPUT_VALUES = 3 * 1024 * 1024  # C x H x W of a run's input: 1024 x 1024 RGB, config's largest image_size
MAX_SAFETENSORS_HEADER_BYTES = 16 * MIB  # the JSON header of a .safetensors file
MAX_RUN_JSON_BYTES = 16 * MIB  # config.json, history.json


def megabytes(n_bytes: int) -> str:
    """``n_bytes`` in Streamlit's MB (MiB), as a user reads it: ``"200 MB"``."""
    return f"{n_bytes / MIB:,.0f} MB"


def gigabytes(n_bytes: int) -> str:
    """``n_bytes`` as a user reads it: ``"1.2 GB"`` from 1 GiB up, ``"340 MB"`` from 1 MiB, ``"12 KB"`` below."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:,.1f} GB"
    return megabytes(n_bytes) if n_bytes >= MIB else f"{-(-n_bytes // 1024):,} KB"  # rounded up


def upload_limits_text() -> str:
    """The upload limits, in one sentence the upload page shows."""
    return (f"Up to {MAX_UPLOAD_MB} MB a file and {MAX_FILES:,} files, as long as the server's disk has room for "
            f"them unpacked; images of up to {MAX_IMAGE_PIXELS / 1e6:,.0f} million pixels.")
