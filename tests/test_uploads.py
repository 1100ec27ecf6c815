"""Uploads and image folders against bad input: every bad file is skipped with a reason, or the whole
upload refused with a message; nothing escapes its folder and nothing crashes."""

import io
import os
import shutil
import stat
import struct
import threading
import time
import tomllib
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aecore import image_stream, uploads
from aecore.config import DataConfig
from aecore.data import load_dataset, safe_name
from aecore.errors import DataError
from aecore.limits import (
    DISK_RESERVE_BYTES,
    MAX_CONCURRENT_EXTRACTIONS,
    MAX_FILES,
    MAX_NAME_BYTES,
    MAX_NAME_CHARS,
    MAX_UPLOAD_MB,
    upload_limits_text,
)
from aecore.uploads import (
    IMAGE_ROOTS_ENV,
    SERVER_FOLDERS_OFF,
    Upload,
    conv_channels,
    extract_zip,
    folder_run_config,
    ingest_uploads,
    save_labelled_images,
    server_image_folder,
)

ROOT = Path(__file__).resolve().parent.parent


def _png(color=(200, 30, 30), size=(16, 16), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _bad_images() -> dict[str, bytes]:
    """One of every kind of file that must be skipped, not crash the loader."""
    good = _png()
    sixteen = io.BytesIO()
    Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 200).save(sixteen, format="PNG")
    cmyk, palette, rgba, grey = io.BytesIO(), io.BytesIO(), io.BytesIO(), io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(cmyk, format="JPEG")
    Image.new("P", (16, 16), 3).save(palette, format="PNG")
    Image.new("RGBA", (16, 16), (0, 0, 255, 0)).save(rgba, format="PNG")
    Image.new("L", (16, 16), 90).save(grey, format="BMP")
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")  # 100 Mpx that packs into a few kB
    return {
        "zero-bytes.png": b"",
        "truncated.png": good[: len(good) // 2],
        "garbage.jpg": b"\x00\x01 not really a jpeg" * 10,
        "notes.txt": b"hello",
        "script.py": b"import os",
        "bomb.png": bomb.getvalue(),
        "sixteen-bit.png": sixteen.getvalue(),  # usable: converted
        "cmyk.jpg": cmyk.getvalue(),  # usable
        "palette.png": palette.getvalue(),  # usable
        "transparent.png": rgba.getvalue(),  # usable: composited on white
        "grey.bmp": grey.getvalue(),  # usable
    }


USABLE = {"sixteen-bit.png", "cmyk.jpg", "palette.png", "transparent.png", "grey.bmp"}


def test_a_folder_full_of_bad_and_odd_files_loads_what_it_can_and_says_why_for_the_rest(tmp_path):
    for class_name in ("good", "odd"):
        (tmp_path / class_name).mkdir()
    for i in range(3):
        (tmp_path / "good" / f"{i}.png").write_bytes(_png((40 * i, 100, 100)))
    for name, content in _bad_images().items():
        (tmp_path / "odd" / name).write_bytes(content)
    (tmp_path / "empty").mkdir()
    dataset = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=16, val_fraction=0.0))
    assert dataset.class_names == ("good", "odd")  # the empty class folder is skipped, not an empty class
    assert len(dataset.train) + len(dataset.test) == 3 + len(USABLE)
    skipped = {path.rsplit("/", 1)[-1]: reason for path, reason in dataset.skipped}
    assert set(skipped) == set(_bad_images()) - USABLE | {"empty"}
    assert skipped["zero-bytes.png"] == "empty file"
    assert "too large" in skipped["bomb.png"]
    assert "not an image file type" in skipped["notes.txt"]
    assert "damaged" in skipped["truncated.png"] or "readable" in skipped["truncated.png"]
    names = set(dataset.train.names) | set(dataset.test.names)
    assert "odd/cmyk.jpg" in names and all(not name.endswith(".txt") for name in names)
    x = dataset.train.x
    assert x.min() >= 0 and x.max() <= 1


def test_a_zip_of_class_folders_is_unpacked_through_one_top_folder(tmp_path):
    archive = _zip({"faces/happy/a.png": _png(), "faces/happy/b.png": _png(), "faces/angry/c.png": _png(),
                    "faces/readme.txt": b"x", "__MACOSX/faces/._a.png": b"junk", "faces/.DS_Store": b"junk"})
    report = extract_zip(archive, tmp_path)
    assert report.counts == {"happy": 2, "angry": 1}
    assert ("faces/readme.txt", "not inside a class folder") in report.skipped
    assert sorted(p.name for p in (tmp_path / "happy").iterdir()) == ["a.png", "b.png"]


def test_path_traversal_in_member_names_never_leaves_the_folder(tmp_path):
    destination = tmp_path / "upload"
    archive = _zip({"../../evil/x.png": _png(), "/abs/y.png": _png(), "c:/win/z.png": _png(),
                    "ok/fine.png": _png(), "ok/../../escape.png": _png()})
    report = extract_zip(archive, destination)
    assert report.counts == {"ok": 1}
    assert sum("unsafe path" in reason for _, reason in report.skipped) == 4
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(destination in p.parents for p in written) and len(written) == 1


@pytest.mark.parametrize(("archive", "message"), [
    (b"PK\x03\x04 truncated", "not a readable zip"),
    (b"", "not a readable zip"),
    (_zip({"notes/a.txt": b"x"}), "no images inside class folders"),
    (_zip({"a.png": _png()}), "no images inside class folders"),
])
def test_unusable_archives_are_refused_with_a_message(tmp_path, archive, message):
    with pytest.raises(DataError, match=message):
        extract_zip(archive, tmp_path)


def test_a_cut_short_zip_is_refused(tmp_path):
    archive = _zip({f"c/{i}.png": _png() for i in range(5)})
    with pytest.raises(DataError, match="not a readable zip"):
        extract_zip(archive[: len(archive) // 2], tmp_path)


def test_zip_bombs_are_refused_before_unpacking(tmp_path):
    bomb = _zip({"c/zeros.png": b"\x00" * 50_000_000})  # 50 MB of zeros packs into ~50 kB
    with pytest.raises(DataError, match="zip bomb"):
        extract_zip(bomb, tmp_path)
    assert not any(tmp_path.rglob("*.png"))


def test_loose_images_with_class_names(tmp_path, monkeypatch):
    report = save_labelled_images([("a.png", _png(), "happy"), ("b.png", _png(), "happy"),
                                   ("../x.png", _png(), "../../angry"), ("c.txt", b"x", "happy")], tmp_path)
    assert report.counts == {"happy": 2, "angry": 1}
    assert (tmp_path / "angry" / "x.png").is_file()
    assert report.skipped == [("c.txt", "not an image file type")]
    with pytest.raises(DataError, match="none of the uploaded files is an image"):
        save_labelled_images([("c.txt", b"x", "a")], tmp_path / "other")
    monkeypatch.setattr(image_stream, "free_disk_bytes", lambda folder: DISK_RESERVE_BYTES + 1000)
    with pytest.raises(DataError, match="the uploaded images need.* of disk space, but the server has only"):
        save_labelled_images([("big.png", b"\x00" * 1001, "a")], tmp_path / "big")
    assert not (tmp_path / "big").exists()


def test_class_names_are_made_safe():
    assert safe_name("../../etc") == "etc"
    assert safe_name("..") == "unnamed" and safe_name("") == "unnamed"
    assert safe_name("Tom & Jerry") == "Tom & Jerry"


def test_a_single_class_still_loads(tmp_path):
    (tmp_path / "only").mkdir()
    for i in range(4):
        (tmp_path / "only" / f"{i}.png").write_bytes(_png((i * 50, 0, 0)))
    dataset = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=8, val_fraction=0.0))
    assert dataset.class_names == ("only",) and len(dataset.train) + len(dataset.test) == 4


# ---------------------------------------------------------------------------------------- hostile archives


def _deflate(payload: bytes) -> bytes:
    """Raw deflate (as inside a zip), compressed in 1 MiB pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b"".join(packer.compress(payload[i:i + 2**20]) for i in range(0, len(payload), 2**20)) + packer.flush()


def _raw_zip(*entries: dict) -> bytes:
    """A zip written by hand, so that its entries can lie. Each entry: ``name``, ``payload`` (the real
    content) and optionally ``method`` (0 stored, 8 deflated, or any number), ``size`` (the declared
    size), ``crc``, ``flags`` (general purpose bits) and ``mode`` (a Unix mode: links, devices)."""
    body, directory = bytearray(), bytearray()
    for entry in entries:
        name, payload, method = entry["name"].encode(), entry["payload"], entry.get("method", 8)
        packed = _deflate(payload) if method == 8 else payload
        size, crc, flags = entry.get("size", len(payload)), entry.get("crc", zlib.crc32(payload)), entry.get("flags", 0)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, flags, method, 0, 0x21, crc,
                                 len(packed), size, len(name), 0, 0, 0, 0, entry.get("mode", 0o100644) << 16,
                                 len(body)) + name
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(packed), size,
                            len(name), 0) + name + packed
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    return bytes(body + directory + end)


def test_encrypted_link_and_device_entries_are_skipped_with_a_reason_and_the_rest_unpacked(tmp_path):
    archive = _raw_zip({"name": "cats/a.png", "payload": _png()},
                       {"name": "cats/secret.png", "payload": _png(), "flags": 0x1},
                       {"name": "cats/link.png", "payload": b"/etc/passwd", "mode": stat.S_IFLNK | 0o777},
                       {"name": "cats/tty.png", "payload": b"", "mode": stat.S_IFCHR | 0o600},
                       {"name": "cats/fifo.png", "payload": b"", "mode": stat.S_IFIFO | 0o600},
                       {"name": "cats/odd.png", "payload": _png(), "method": 99})  # no such compression
    report = extract_zip(archive, tmp_path / "out")
    assert report.counts == {"cats": 1}
    reasons = dict(report.skipped)
    assert "encrypted" in reasons["cats/secret.png"]
    assert "symbolic link" in reasons["cats/link.png"]
    assert "device" in reasons["cats/tty.png"] and "device" in reasons["cats/fifo.png"]
    assert "could not be unpacked" in reasons["cats/odd.png"]
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert written == [Path("out"), Path("out/cats"), Path("out/cats/a.png")]
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


def test_an_archive_of_only_encrypted_entries_is_refused_with_one_line_not_a_traceback(tmp_path):
    with pytest.raises(DataError, match=r"^secret.zip has no images inside class folders.*\(1 file skipped\)$"):
        extract_zip(_raw_zip({"name": "c/a.png", "payload": _png(), "flags": 0x1}), tmp_path, name="secret.zip")


@pytest.mark.parametrize("checksum", ["of everything", "of the declared part"])
def test_an_entry_inflating_past_its_declared_size_is_streamed_and_stopped(tmp_path, checksum):
    payload = b"\x00" * (64 * 2**20)  # 64 MiB of zeros, packed into ~64 kB, declaring 900 kB
    crc = zlib.crc32(payload) if checksum == "of everything" else zlib.crc32(payload[:900_000])
    archive = _raw_zip({"name": "c/bomb.png", "payload": payload, "size": 900_000, "crc": crc},
                       {"name": "c/fine.png", "payload": _png()})
    tracemalloc.start()
    try:
        report = extract_zip(archive, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"extraction held {peak / 2**20:.0f} MiB at once"  # chunks, never the whole entry
    assert report.counts == {"c": 1 + (checksum != "of everything")}
    bomb = tmp_path / "c" / "bomb.png"
    if checksum == "of everything":  # zipfile stops at the declared size; the checksum then fails
        assert "could not be unpacked" in dict(report.skipped)["c/bomb.png"] and not bomb.exists()
    else:  # what is written never passes the declared size
        assert bomb.stat().st_size == 900_000
    assert report.written_bytes <= 900_000 + len(_png())


def test_an_archive_whose_index_lists_too_many_entries_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILES", 10)
    archive = _zip({f"c/{i}.png": b"" for i in range(11)}, zipfile.ZIP_STORED)
    built = []
    monkeypatch.setattr(uploads.zipfile, "ZipFile", lambda *args, **kwargs: built.append(args))
    with pytest.raises(DataError, match="lists 11 entries .* at most 10 files"):
        extract_zip(archive, tmp_path)
    assert built == []


def _disk_of(tmp_path: Path, room: int):
    """A disk with ``room`` bytes (and the reserve) free before anything is written under ``tmp_path``."""
    return lambda folder: DISK_RESERVE_BYTES + room - sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())


def test_one_upload_shares_the_disk_across_archives_and_loose_images(tmp_path, monkeypatch):
    image = _png()
    monkeypatch.setattr(image_stream, "free_disk_bytes", _disk_of(tmp_path, 3 * len(image)))
    first, second = _zip({"a/1.png": image, "a/2.png": image}), _zip({"b/1.png": image, "b/2.png": image})
    with pytest.raises(DataError, match="second.zip unpacked needs .* of disk space"):
        ingest_uploads([Upload("first.zip", first), Upload("second.zip", second)], tmp_path / "x")
    assert len(list((tmp_path / "x").rglob("*.png"))) == 2  # the first archive fitted
    shutil.rmtree(tmp_path / "x")
    report = ingest_uploads([Upload("first.zip", io.BytesIO(first)), Upload("loose.png", image, "b")], tmp_path / "y")
    assert report.counts == {"a": 2, "b": 1} and report.written_bytes == 3 * len(image)
    shutil.rmtree(tmp_path / "y")
    with pytest.raises(DataError, match="the uploaded images need"):
        ingest_uploads([Upload("first.zip", first), Upload("l1.png", image), Upload("l2.png", image)], tmp_path / "z")


def test_an_archive_larger_than_the_free_disk_is_refused_in_one_line_before_anything_is_written(tmp_path,
                                                                                                 monkeypatch):
    monkeypatch.setattr(image_stream, "free_disk_bytes", lambda folder: DISK_RESERVE_BYTES + 2**20)
    archive = _zip({f"a/{i}.png": bytes(300_000) for i in range(4)})  # 1.2 MB unpacked, a few KB packed
    with pytest.raises(DataError) as info:
        extract_zip(archive, tmp_path, name="photos.zip")
    assert str(info.value).startswith("photos.zip unpacked needs 1 MB of disk space, but the server has only 513 MB "
                                      "free there (and keeps 512 MB free)")
    assert "\n" not in str(info.value) and not any(tmp_path.rglob("*.png"))


def test_there_is_no_fixed_cap_on_what_an_upload_unpacks_to(tmp_path):
    report = ingest_uploads([Upload("big.zip", _zip({f"a/{i}.png": bytes(1_000_000) for i in range(220)}))],
                            tmp_path)
    assert report.counts == {"a": 220} and report.written_bytes == 220_000_000  # more than the 200 MB of old


def test_at_most_the_declared_number_of_extractions_run_at_once(tmp_path, monkeypatch):
    running, most, lock = [0], [0], threading.Lock()
    real = uploads._extract

    def slow_extract(*args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return real(*args)

    monkeypatch.setattr(uploads, "_extract", slow_extract)
    archive = _zip({"c/a.png": _png()})
    threads = [threading.Thread(target=extract_zip, args=(archive, tmp_path / str(i))) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == MAX_CONCURRENT_EXTRACTIONS
    assert all((tmp_path / str(i) / "c" / "a.png").is_file() for i in range(6))


def test_an_extraction_that_waits_too_long_is_refused_as_busy(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "EXTRACTION_WAIT_SECONDS", 0.01)
    for _ in range(MAX_CONCURRENT_EXTRACTIONS):
        uploads._extraction_slots.acquire()
    try:
        with pytest.raises(DataError, match="busy"):
            extract_zip(_zip({"c/a.png": _png()}), tmp_path)
    finally:
        for _ in range(MAX_CONCURRENT_EXTRACTIONS):
            uploads._extraction_slots.release()
    assert extract_zip(_zip({"c/a.png": _png()}), tmp_path).counts == {"c": 1}  # the slots came back


# ---------------------------------------------------------------------------------------- names


def test_names_with_undecodable_bytes_bidi_marks_and_great_length_are_made_safe_once():
    assert safe_name(b"caf\xe9") == "caf\ufffd" == safe_name(os.fsdecode(b"caf\xe9"))  # surrogate escapes too
    assert safe_name("evil\u202egnp.exe") == "evilgnp.exe"  # right-to-left override dropped
    assert safe_name("a\u200bb\u200fc") == "abc"  # zero-width space and right-to-left mark
    assert safe_name("tab\there\nnewline") == "tab here newline"
    assert safe_name("[click](javascript:x) $x$ `code` <b>") == "click_(javascript_x) _x_ _code_ _b"
    assert safe_name("happy 😀 猫 café") == "happy 😀 猫 café"
    long = safe_name("x" * 500)
    assert len(long) == MAX_NAME_CHARS and long.endswith("…")
    assert len(safe_name("猫" * 500).encode()) <= MAX_NAME_BYTES
    assert safe_name("T-shirt/top", path_part=False) == "T-shirt/top" and safe_name("T-shirt/top") == "T-shirt_top"
    for name in (b"\xff\xfe", "\udcff", "a\u202e", "x" * 300, "..", "/", "\x00"):
        cleaned = safe_name(name)
        cleaned.encode("utf-8")  # never a surrogate: JSON, protobuf and file systems all take it
        assert cleaned not in ("", ".", "..") and "/" not in cleaned and not cleaned.startswith(".")


def test_unsafe_names_in_an_archive_become_safe_folders_and_files(tmp_path):
    archive = _zip({"ha\u202eppy/\u200fa.png": _png(), f"{'k' * 300}/b.png": _png(), "c\x01d/\x7fe.png": _png()})
    report = extract_zip(archive, tmp_path)
    assert set(report.counts) == {"happy", "k" * (MAX_NAME_CHARS - 1) + "…", "c_d"}
    assert (tmp_path / "happy" / "a.png").is_file() and (tmp_path / "c_d" / "e.png").is_file()


# ---------------------------------------------------------------------------------------- server folders


def test_server_folders_are_off_unless_the_operator_allows_roots(tmp_path, monkeypatch):
    monkeypatch.delenv(IMAGE_ROOTS_ENV, raising=False)
    (tmp_path / "faces").mkdir()
    with pytest.raises(DataError, match=f"off.*{IMAGE_ROOTS_ENV}=/data/class"):
        server_image_folder(str(tmp_path / "faces"))


def test_a_server_folder_must_resolve_inside_an_allowed_root(tmp_path, monkeypatch):
    root, outside = tmp_path / "class", tmp_path / "private"
    (root / "faces" / "happy").mkdir(parents=True)
    (outside / "secrets").mkdir(parents=True)
    (root / "escape").symlink_to(outside)  # a link inside the root leading out of it
    (root / "inner").symlink_to(root / "faces")
    monkeypatch.setenv(IMAGE_ROOTS_ENV, f"{tmp_path / 'elsewhere'}{os.pathsep}{root}")
    assert server_image_folder(str(root / "faces")) == (root / "faces").resolve()
    assert server_image_folder("faces") == (root / "faces").resolve()  # relative: looked up under the roots
    assert server_image_folder(str(root / "inner")) == (root / "faces").resolve()
    for path in (str(outside), str(root / "escape"), str(root / "escape" / "secrets"), f"{root}/../private",
                 "../private", "/etc", str(root / "faces" / "missing"), str(tmp_path / "nowhere")):
        with pytest.raises(DataError, match="is not a folder inside the allowed folders") as info:
            server_image_folder(path)
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------- one number per limit


def test_the_servers_upload_limit_is_the_one_declared_in_limits():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    text = upload_limits_text()
    assert f"{MAX_UPLOAD_MB} MB a file" in text and "disk has room" in text
    assert f"{MAX_FILES:,} files" in text


def test_the_page_states_the_limits_and_how_to_turn_server_folders_on(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv(IMAGE_ROOTS_ENV, raising=False)
    at = AppTest.from_file(str(ROOT / "views" / "own_images.py"), default_timeout=60).run()
    assert not at.exception
    assert at.get("file_uploader")[0].proto.max_upload_size_mb == MAX_UPLOAD_MB
    assert upload_limits_text() in [caption.value for caption in at.caption]
    assert SERVER_FOLDERS_OFF in [info.value for info in at.info]


# ---------------------------------------------------------------------------------------- training on them


@pytest.mark.parametrize(("size", "blocks"), [(32, 3), (64, 3), (96, 4), (128, 4), (160, 5), (224, 5)])
def test_the_conv_depth_follows_the_image_size(size, blocks):
    config = folder_run_config("/data/faces", image_size=size, color="grey", latent=16, test_fraction=0.2,
                               variational=True, epochs=3)
    assert len(config.model.hidden) == blocks == len(conv_channels(size))
    assert config.model.variational and config.model.arch == "conv" and config.train.epochs == 3
    assert config.data.name == "folder:/data/faces" and config.data.image_size == size
    assert size // 2 ** blocks in range(4, 9)  # the last feature map is 4-8 pixels wide
