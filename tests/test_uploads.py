"""Uploads and image folders against bad input: every bad file is skipped with a reason, or the whole
upload refused with a message; nothing escapes its folder and nothing crashes."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from aecore.config import DataConfig
from aecore.data import load_dataset
from aecore.errors import DataError
from aecore.uploads import MAX_UPLOAD_BYTES, clean_class_name, extract_zip, save_labelled_images


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


def test_loose_images_with_class_names(tmp_path):
    report = save_labelled_images([("a.png", _png(), "happy"), ("b.png", _png(), "happy"),
                                   ("../x.png", _png(), "../../angry"), ("c.txt", b"x", "happy")], tmp_path)
    assert report.counts == {"happy": 2, "angry": 1}
    assert (tmp_path / "angry" / "x.png").is_file()
    assert report.skipped == [("c.txt", "not an image file type")]
    with pytest.raises(DataError, match="none of the uploaded files is an image"):
        save_labelled_images([("c.txt", b"x", "a")], tmp_path / "other")
    with pytest.raises(DataError, match="MB"):
        save_labelled_images([("big.png", b"\x00" * (MAX_UPLOAD_BYTES + 1), "a")], tmp_path / "big")


def test_class_names_are_made_safe():
    assert clean_class_name("../../etc") == "etc"
    assert clean_class_name("..") == "unnamed" and clean_class_name("") == "unnamed"
    assert clean_class_name("Tom & Jerry") == "Tom _ Jerry"


def test_a_single_class_still_loads(tmp_path):
    (tmp_path / "only").mkdir()
    for i in range(4):
        (tmp_path / "only" / f"{i}.png").write_bytes(_png((i * 50, 0, 0)))
    dataset = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=8, val_fraction=0.0))
    assert dataset.class_names == ("only",) and len(dataset.train) + len(dataset.test) == 4
