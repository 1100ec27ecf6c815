"""Tests for aecore.data: bundled MNIST, IDX checks, subsets, splits, normalisation, toy sets, folders."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import aecore.data as data_module
from aecore.config import DataConfig
from aecore.data import (
    BINARY_PATTERNS,
    FASHION_CLASSES,
    MNIST_DIR,
    MNIST_FILES,
    TEST_FRACTION,
    expected_input_shape,
    list_datasets,
    load_dataset,
    load_mnist,
    read_idx,
)
from aecore.errors import DataError

N_DIGITS = 1797  # scikit-learn's digits set


# ---------------------------------------------------------------------------------------- bundled MNIST


def test_mnist_split_sizes(mnist):
    # val_fraction 0.1 of the 60,000 training images -> 6,000 val, 54,000 train; the 10,000 test images untouched
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (54_000, 6_000, 10_000)
    for split in (mnist.train, mnist.val, mnist.test):
        assert split.x.shape[1:] == (1, 28, 28)
        assert split.y.shape == (len(split),)
    assert mnist.input_shape == (1, 28, 28)


def test_mnist_pixels_and_labels(mnist):
    for split in (mnist.train, mnist.val, mnist.test):
        assert split.x.dtype == torch.float32
        assert split.y.dtype == torch.int64
        assert float(split.x.min()) == 0.0
        assert float(split.x.max()) == 1.0  # 255 / 255
        assert split.y.unique().tolist() == list(range(10))
    assert mnist.class_names == tuple(str(i) for i in range(10))
    assert mnist.value_range == (0.0, 1.0)
    assert mnist.normalizer.mean is None  # "unit" is the identity


def test_mnist_train_and_val_partition_the_training_file(mnist):
    raw = load_mnist()  # the lru-cached raw data, same object load_dataset used
    assert len(raw.train_y) == 60_000 and len(raw.test_y) == 10_000
    # every training image lands in exactly one of train / val: label counts and pixel mass add up
    counts = torch.bincount(mnist.train.y, minlength=10) + torch.bincount(mnist.val.y, minlength=10)
    assert torch.equal(counts, torch.bincount(raw.train_y, minlength=10))
    split_mass = mnist.train.x.double().sum() + mnist.val.x.double().sum()
    assert float(split_mass) == pytest.approx(float(raw.train_x.double().sum()), rel=1e-12)
    # the test split is the t10k file, in order
    assert torch.equal(mnist.test.y, raw.test_y)
    assert torch.equal(mnist.test.x, raw.test_x)


def test_mnist_dataset_does_not_share_memory_with_the_cache(mnist):
    raw = load_mnist()
    for mine, cached in ((mnist.test.x, raw.test_x), (mnist.train.x, raw.train_x)):
        assert mine.untyped_storage().data_ptr() != cached.untyped_storage().data_ptr()


# ---------------------------------------------------------------------------------------- IDX files


@pytest.fixture
def mnist_copy(tmp_path: Path) -> Path:
    """The four bundled files in a fresh directory (fresh, so _read_idx_dataset's cache never hits)."""
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name in MNIST_FILES:
        shutil.copy(MNIST_DIR / f"{name}.gz", directory / f"{name}.gz")
    return directory


def test_load_mnist_missing_file_names_it(mnist_copy: Path):
    victim = mnist_copy / "train-labels-idx1-ubyte.gz"
    victim.unlink()
    with pytest.raises(DataError, match="missing") as info:
        load_mnist(directory=mnist_copy)
    assert str(victim) in str(info.value)


def test_load_mnist_altered_bytes_fail_the_md5_check(mnist_copy: Path):
    victim = mnist_copy / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[8] = (raw[8] + 1) % 10  # first label, still a valid digit and a valid IDX file
    victim.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="md5") as info:
        load_mnist(directory=mnist_copy)
    message = str(info.value)
    assert str(victim) in message and "corrupt" in message
    assert MNIST_FILES["train-labels-idx1-ubyte"] in message


def test_load_mnist_garbage_file_names_it(mnist_copy: Path):
    victim = mnist_copy / "train-images-idx3-ubyte.gz"
    victim.write_bytes(b"this is not gzip at all" * 10)
    with pytest.raises(DataError, match="gzip") as info:
        load_mnist(directory=mnist_copy)
    assert str(victim) in str(info.value)


def test_load_mnist_truncated_gzip_names_it(mnist_copy: Path):
    victim = mnist_copy / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:1000])  # a gzip stream cut short
    with pytest.raises(DataError, match="corrupt") as info:
        load_mnist(directory=mnist_copy)
    assert str(victim) in str(info.value)


def _idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: 0x0000 08 ndim, big-endian dims, then the data."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_reads_a_small_file(tmp_path: Path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "small.gz"
    path.write_bytes(gzip.compress(_idx_bytes(array)))
    out = read_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


def test_read_idx_checks_header_and_length(tmp_path: Path):
    good = _idx_bytes(np.zeros((4, 5), dtype=np.uint8))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress(good[:-3]))
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(truncated)
    assert str(truncated) in str(info.value)
    not_idx = tmp_path / "float.gz"
    not_idx.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00" * 4))  # float32 type
    with pytest.raises(DataError, match="not an IDX file") as info:
        read_idx(not_idx)
    assert str(not_idx) in str(info.value)


def test_read_idx_md5_mismatch(tmp_path: Path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros(3, dtype=np.uint8))))
    with pytest.raises(DataError, match="md5"):
        read_idx(path, expected_md5="0" * 32)


# ---------------------------------------------------------------------------------------- subsets and splits


def test_classes_subset_keeps_only_those_labels():
    raw = load_mnist()
    dataset = load_dataset(DataConfig(classes=(1, 5, 6)))
    for split in (dataset.train, dataset.val, dataset.test):
        assert set(split.y.unique().tolist()) == {1, 5, 6}
    keep = torch.tensor([1, 5, 6])
    n_train = int(torch.isin(raw.train_y, keep).sum())
    assert len(dataset.train) + len(dataset.val) == n_train
    assert len(dataset.val) == int(0.1 * n_train)
    assert len(dataset.test) == int(torch.isin(raw.test_y, keep).sum())
    assert dataset.class_names == tuple(str(i) for i in range(10))  # labels keep their original meaning


def test_absent_class_raises():
    with pytest.raises(DataError, match=r"no class\(es\) \[42\]"):
        load_dataset(DataConfig(name="digits", classes=(3, 42)))


def test_fraction_subsamples_training_split_only():
    dataset = load_dataset(DataConfig(fraction=0.1))
    # 10% of 60,000 = 6,000 kept; 10% of those (600) become validation
    assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (5_400, 600, 10_000)
    # MNIST's images do not depend on the seed, so any difference comes from the seeded subsample and split
    again = load_dataset(DataConfig(fraction=0.1))
    other = load_dataset(DataConfig(fraction=0.1, seed=1))
    assert torch.equal(again.val.x, dataset.val.x) and torch.equal(again.train.y, dataset.train.y)
    assert len(other.val) == 600
    assert not torch.equal(other.val.x, dataset.val.x)
    assert not torch.equal(other.train.x, dataset.train.x)
    assert torch.equal(other.test.x, dataset.test.x)  # the test split is never subsampled


def test_validation_split_is_seeded(digits):
    same = load_dataset(DataConfig(name="digits"))
    other = load_dataset(DataConfig(name="digits", seed=1))
    assert torch.equal(same.val.x, digits.val.x) and torch.equal(same.val.y, digits.val.y)
    assert torch.equal(same.train.x, digits.train.x)
    assert len(other.val) == len(digits.val)
    assert not torch.equal(other.val.x, digits.val.x)


def test_fraction_and_val_sizes_on_digits(digits):
    n_test = round(TEST_FRACTION * N_DIGITS)  # digits has no test split: 20% held out
    n_pool = N_DIGITS - n_test
    assert len(digits.test) == n_test
    assert len(digits.val) == int(0.1 * n_pool)
    assert len(digits.train) == n_pool - int(0.1 * n_pool)
    small = load_dataset(DataConfig(name="digits", fraction=0.5, val_fraction=0.2))
    n_keep = round(0.5 * n_pool)
    assert (len(small.train), len(small.val), len(small.test)) == (n_keep - int(0.2 * n_keep), int(0.2 * n_keep),
                                                                    n_test)


# ---------------------------------------------------------------------------------------- normalisation


def test_standard_normalization_fitted_on_train_only(digits):
    standard = load_dataset(DataConfig(name="digits", normalization="standard"))
    train_pixels = digits.train.x  # same seed, so the same images before normalising
    mean, std = standard.normalizer.mean, standard.normalizer.std
    assert mean.shape == std.shape == (1, 8, 8)
    torch.testing.assert_close(mean, train_pixels.mean(dim=0))
    # after normalising, the training split is centred and, where a pixel varies, has unit std
    torch.testing.assert_close(standard.train.x.mean(dim=0), torch.zeros(1, 8, 8), atol=1e-5, rtol=0)
    varies = train_pixels.std(dim=0, unbiased=False) > 1e-8
    assert 0 < int(varies.sum()) < 64  # digits has constant (always blank) border pixels
    torch.testing.assert_close(standard.train.x.std(dim=0, unbiased=False)[varies],
                               torch.ones(int(varies.sum())), atol=1e-4, rtol=0)
    assert torch.all(std[~varies] == 1.0)  # constant pixels are left unscaled, as sklearn does
    # test and validation use the training statistics, so they are not exactly centred
    assert float(standard.test.x.mean(dim=0).abs().max()) > 1e-3
    torch.testing.assert_close(standard.test.x, (digits.test.x - mean) / std)
    torch.testing.assert_close(standard.val.x, (digits.val.x - mean) / std)


def test_normalizer_round_trip(digits):
    standard = load_dataset(DataConfig(name="digits", normalization="standard"))
    normalizer = standard.normalizer
    x = digits.test.x
    torch.testing.assert_close(normalizer.inverse(normalizer.apply(x)), x, atol=1e-6, rtol=0)
    assert not torch.allclose(normalizer.apply(x), x)
    torch.testing.assert_close(normalizer.inverse(standard.train.x), digits.train.x, atol=1e-6, rtol=0)
    # "unit" is the identity both ways
    assert digits.normalizer.apply(x) is x and digits.normalizer.inverse(x) is x


def test_value_range(digits):
    assert digits.value_range == (0.0, 1.0)
    standard = load_dataset(DataConfig(name="digits", normalization="standard"))
    low, high = standard.value_range
    assert low == float(standard.train.x.min()) and high == float(standard.train.x.max())
    assert low < 0 < 1 < high


def test_dataset_to_cpu_keeps_values(digits):
    moved = digits.to("cpu")
    for a, b in ((moved.train, digits.train), (moved.val, digits.val), (moved.test, digits.test)):
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
        assert a.x.device.type == "cpu"
    assert moved.name == digits.name and moved.class_names == digits.class_names
    assert moved.normalizer is digits.normalizer


# ---------------------------------------------------------------------------------------- toy and small sets


def test_digits(digits):
    assert len(digits.train) + len(digits.val) + len(digits.test) == N_DIGITS
    assert digits.input_shape == (1, 8, 8)
    all_x = torch.cat([digits.train.x, digits.val.x, digits.test.x])
    assert all_x.dtype == torch.float32
    assert float(all_x.min()) == 0.0 and float(all_x.max()) == 1.0  # 0..16 -> [0, 1]
    # sklearn's digits are multiples of 1/16
    torch.testing.assert_close(all_x * 16, (all_x * 16).round(), atol=1e-5, rtol=0)
    all_y = torch.cat([digits.train.y, digits.val.y, digits.test.y])
    assert all_y.unique().tolist() == list(range(10))


def test_patterns_train_equals_test():
    dataset = load_dataset(DataConfig(name="patterns-3x3", val_fraction=0.0))
    assert len(dataset.train) == len(dataset.test) == 5 and len(dataset.val) == 0
    expected = torch.tensor(BINARY_PATTERNS, dtype=torch.float32).unsqueeze(1)
    assert torch.equal(dataset.test.x, expected)
    # the training split is the same five patterns (shuffled), each with its own label
    assert sorted(dataset.train.y.tolist()) == [0, 1, 2, 3, 4]
    assert torch.equal(dataset.train.x, expected[dataset.train.y])
    assert set(dataset.train.x.unique().tolist()) == {0.0, 1.0}
    assert dataset.class_names == ("x1", "x2", "x3", "x4", "x5")
    assert dataset.input_shape == (1, 3, 3)


def test_random_images_are_seeded():
    config = DataConfig(name="random-10x10", n_samples=50, val_fraction=0.1)
    a, b = load_dataset(config), load_dataset(config)
    c = load_dataset(DataConfig(name="random-10x10", n_samples=50, val_fraction=0.1, seed=7))
    assert (len(a.train), len(a.val), len(a.test)) == (45, 5, round(TEST_FRACTION * 50))
    assert a.input_shape == (1, 10, 10)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.x, b.test.x)
    assert not torch.equal(a.test.x, c.test.x)
    assert float(a.train.x.min()) >= 0.0 and float(a.train.x.max()) < 1.0
    small = load_dataset(DataConfig(name="random-10x10", n_samples=10, val_fraction=0.0))
    assert (len(small.train), len(small.test)) == (10, 2)


def test_color_and_resize(digits):
    rgb = load_dataset(DataConfig(name="digits", color="rgb"))
    assert rgb.input_shape == (3, 8, 8)
    assert torch.equal(rgb.train.x[:, 0], rgb.train.x[:, 1]) and torch.equal(rgb.train.x[:, 0], rgb.train.x[:, 2])
    assert torch.equal(rgb.train.x[:, :1], digits.train.x)
    big = load_dataset(DataConfig(name="digits", image_size=16))
    assert big.input_shape == (1, 16, 16)
    for split in (big.train, big.val, big.test):
        assert split.x.shape[1:] == (1, 16, 16)
        assert float(split.x.min()) >= 0.0 and float(split.x.max()) <= 1.0
    # resizing keeps the picture: a bigger copy averages back to about the same brightness
    torch.testing.assert_close(big.train.x.mean(dim=(1, 2, 3)), digits.train.x.mean(dim=(1, 2, 3)),
                               atol=0.02, rtol=0)
    both = load_dataset(DataConfig(name="patterns-3x3", val_fraction=0.0, image_size=6, color="rgb"))
    assert both.input_shape == (3, 6, 6)


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(name="cifar-1000"))
    message = str(info.value)
    assert "cifar-1000" in message and "folder:" in message
    names = [info.name for info in list_datasets()]
    assert {"mnist", "fashion-mnist", "digits", "patterns-3x3", "random-10x10"} <= set(names)
    for name in names:
        assert name in message


def test_expected_input_shape():
    assert expected_input_shape(DataConfig()) == (1, 28, 28)
    assert expected_input_shape(DataConfig(color="rgb", image_size=32)) == (3, 32, 32)
    assert expected_input_shape(DataConfig(name="digits")) == (1, 8, 8)
    assert expected_input_shape(DataConfig(name="digits", image_size=16, color="grey")) == (1, 16, 16)
    assert expected_input_shape(DataConfig(name="folder:/nowhere")) == (3, 64, 64)
    assert expected_input_shape(DataConfig(name="folder:/nowhere", color="grey", image_size=12)) == (1, 12, 12)
    assert expected_input_shape(DataConfig(name="no-such-set")) is None


@pytest.mark.parametrize("config", [
    DataConfig(name="digits"),
    DataConfig(name="digits", color="rgb", image_size=12),
    DataConfig(name="patterns-3x3", val_fraction=0.0, image_size=4),
    DataConfig(name="random-10x10", n_samples=5, color="rgb"),
])
def test_expected_input_shape_matches_loaded(config):
    assert expected_input_shape(config) == load_dataset(config).input_shape


# ---------------------------------------------------------------------------------------- image folders

RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """cats/ holds three red images (RGB png, RGBA png, palette png); dogs/ a grey and a blue jpeg."""
    from PIL import Image

    root = tmp_path / "pets"
    cats, dogs = root / "cats", root / "dogs"
    cats.mkdir(parents=True)
    dogs.mkdir()
    (root / ".hidden").mkdir()  # not a class
    Image.new("RGB", (20, 30), RED).save(cats / "a.png")
    Image.new("RGBA", (40, 40), (*RED, 255)).save(cats / "b.png")
    palette = Image.new("P", (30, 20), 0)
    palette.putpalette([*RED, *BLUE] + [0] * (256 - 2) * 3)
    palette.save(cats / "c.png")
    Image.new("L", (25, 25), 128).save(dogs / "d.jpg")
    Image.new("RGB", (32, 32), BLUE).save(dogs / "e.jpeg")
    (dogs / "notes.txt").write_text("not a picture")
    (dogs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but then garbage")
    return root


def _all(dataset):
    x = torch.cat([dataset.train.x, dataset.val.x, dataset.test.x])
    y = torch.cat([dataset.train.y, dataset.val.y, dataset.test.y])
    return x, y


def test_image_folder_rgb(image_folder: Path):
    dataset = load_dataset(DataConfig(name=f"folder:{image_folder}", image_size=12, color="rgb"))
    assert dataset.class_names == ("cats", "dogs")
    x, y = _all(dataset)
    assert x.shape == (5, 3, 12, 12)
    assert dataset.input_shape == (3, 12, 12)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert sorted(y.tolist()) == [0, 0, 0, 1, 1]
    means = x.mean(dim=(2, 3))  # (N, 3) mean R, G, B
    for (red, green, blue), label in zip(means.tolist(), y.tolist(), strict=True):
        if label == 0:  # every cat image is pure red, whatever its mode was
            assert red == pytest.approx(1.0, abs=0.01) and green < 0.01 and blue < 0.01
        else:  # dogs: mid grey (R = G = B) or blue
            assert blue >= red - 0.02 and blue > 0.4


def test_image_folder_grey(image_folder: Path):
    dataset = load_dataset(DataConfig(name=f"folder:{image_folder}", image_size=9, color="grey"))
    x, y = _all(dataset)
    assert x.shape == (5, 1, 9, 9)
    cats = x[y == 0].mean(dim=(1, 2, 3))
    torch.testing.assert_close(cats, torch.full_like(cats, 0.299), atol=0.01, rtol=0)  # luma of pure red


def test_image_folder_default_size(image_folder: Path):
    dataset = load_dataset(DataConfig(name=f"folder:{image_folder}"))
    assert dataset.input_shape == (3, 64, 64) == expected_input_shape(DataConfig(name=f"folder:{image_folder}"))


def test_image_folder_reports_skipped_files(image_folder: Path):
    dataset = load_dataset(DataConfig(name=f"folder:{image_folder}", image_size=8))
    skipped = dict(dataset.skipped)
    assert set(skipped) == {str(image_folder / "dogs" / "notes.txt"), str(image_folder / "dogs" / "broken.png")}
    assert "not an image" in skipped[str(image_folder / "dogs" / "notes.txt")]
    assert "not a readable image" in skipped[str(image_folder / "dogs" / "broken.png")]


def test_image_folder_skips_truncated_png(image_folder: Path):
    from PIL import Image

    path = image_folder / "cats" / "truncated.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    dataset = load_dataset(DataConfig(name=f"folder:{image_folder}", image_size=8))
    assert str(path) in dict(dataset.skipped)
    assert len(_all(dataset)[1]) == 5


def test_image_folder_missing(tmp_path: Path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset(DataConfig(name=f"folder:{missing}"))
    assert str(missing) in str(info.value)


def test_image_folder_without_class_folders(tmp_path: Path):
    from PIL import Image

    Image.new("RGB", (8, 8), RED).save(tmp_path / "loose.png")
    with pytest.raises(DataError, match="no class sub-folders") as info:
        load_dataset(DataConfig(name=f"folder:{tmp_path}"))
    assert str(tmp_path) in str(info.value)


def test_image_folder_without_readable_images(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "readme.md").write_text("hello")
    (tmp_path / "b" / "fake.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="no readable images") as info:
        load_dataset(DataConfig(name=f"folder:{tmp_path}"))
    assert str(tmp_path) in str(info.value)


# ---------------------------------------------------------------------------------------- Fashion-MNIST


@pytest.fixture
def no_fashion(tmp_path: Path, monkeypatch):
    """Point both Fashion-MNIST locations at empty folders of this test."""
    debian, copy = tmp_path / "debian", tmp_path / "copy"
    debian.mkdir()
    monkeypatch.setattr(data_module, "FASHION_MNIST_DEBIAN_DIR", debian)
    monkeypatch.setattr(data_module, "FASHION_MNIST_COPY_DIR", copy)
    return debian, copy


def test_fashion_mnist_missing_says_how_to_get_it_and_never_downloads(no_fashion, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("loading Fashion-MNIST tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(name="fashion-mnist"))
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and str(no_fashion[1]) in message
    assert not no_fashion[1].exists()


def _write_fake_fashion(directory: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(10, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([9, 0, 3, 3], dtype=np.uint8),
    }
    for name, array in arrays.items():
        (directory / f"{name}.gz").write_bytes(gzip.compress(_idx_bytes(array)))
    return arrays


@pytest.mark.parametrize("where", ["debian", "copy"])
def test_fashion_mnist_from_local_files(no_fashion, where):
    debian, copy = no_fashion
    directory = debian if where == "debian" else copy
    arrays = _write_fake_fashion(directory, np.random.default_rng(3))
    # make sure the IDX header is what MNIST readers expect
    raw_header = gzip.decompress((directory / "train-images-idx3-ubyte.gz").read_bytes())[:16]
    assert struct.unpack(">IIII", raw_header) == (0x00000803, 10, 28, 28)

    dataset = load_dataset(DataConfig(name="fashion-mnist", val_fraction=0.0))
    assert dataset.class_names == FASHION_CLASSES
    assert dataset.input_shape == (1, 28, 28)
    assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (10, 0, 4)
    expected_test = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float().unsqueeze(1) / 255
    torch.testing.assert_close(dataset.test.x, expected_test)
    assert dataset.test.y.tolist() == [9, 0, 3, 3]
    # the training images are shuffled, but each keeps its label (label i was given to image i)
    train_images = torch.from_numpy(arrays["train-images-idx3-ubyte"]).float().unsqueeze(1) / 255
    torch.testing.assert_close(dataset.train.x, train_images[dataset.train.y])


# ---------------------------------------------------------------------------------------- image folders: hostile


def _png_file(path: Path, color=RED) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8), color).save(path, format="PNG")


@pytest.fixture
def walled_folder(tmp_path: Path) -> tuple[Path, Path]:
    """root/ with one good class, and private/ beside it, holding an image no reading of root may reach."""
    root, private = tmp_path / "root", tmp_path / "private"
    (root / "good").mkdir(parents=True)
    (private / "secrets").mkdir(parents=True)
    _png_file(root / "good" / "a.png")
    _png_file(private / "secrets" / "s.png", BLUE)
    _png_file(private / "s.png", BLUE)
    return root, private


def test_folder_reading_never_follows_a_link_out_of_its_root(walled_folder):
    root, private = walled_folder
    (root / "stolen").symlink_to(private / "secrets")  # a class folder that is a link out
    (root / "good" / "file-link.png").symlink_to(private / "s.png")  # an image that is a link out
    (root / "good" / "sub").symlink_to(private)  # a sub-folder that is a link out
    (root / "good" / "inside.png").symlink_to(root / "good" / "a.png")  # a link that stays inside: read
    dataset = load_dataset(DataConfig(name=f"folder:{root}", image_size=8, val_fraction=0.0))
    assert dataset.class_names == ("good",)
    names = set(dataset.train.names) | set(dataset.test.names)
    assert names == {"good/a.png", "good/inside.png"}
    x = torch.cat([dataset.train.x, dataset.test.x])
    assert float(x[:, 2].max()) < 0.01  # no blue pixel from private/ was read
    skipped = dict(dataset.skipped)
    assert "leads out of the folder" in skipped[str(root / "stolen")]
    assert "leads out of the folder" in skipped[str(root / "good" / "file-link.png")]
    assert "not followed" in skipped[str(root / "good" / "sub")]


def test_a_pipe_in_an_image_folder_is_skipped_not_read(walled_folder):
    root, _ = walled_folder
    os.mkfifo(root / "good" / "pipe.png")  # reading it would block for ever
    dataset = load_dataset(DataConfig(name=f"folder:{root}", image_size=8, val_fraction=0.0))
    assert "not a regular file" in dict(dataset.skipped)[str(root / "good" / "pipe.png")]


def test_class_and_file_names_with_undecodable_bytes_marks_or_length_are_made_safe(tmp_path: Path):
    raw_root = os.fsencode(tmp_path)
    for class_name in (b"caf\xe9", b"\xe2\x80\xaeevil", b"evil", b"k" * 200):
        os.mkdir(raw_root + b"/" + class_name)
        _png_file(Path(os.fsdecode(raw_root + b"/" + class_name + b"/n\xffame.png")))
    dataset = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=8, val_fraction=0.0))
    long = "k" * (data_module.MAX_NAME_CHARS - 1) + "…"
    assert sorted(dataset.class_names) == sorted(["caf\ufffd", "evil", "evil-2", long])  # two "evil"s stay two
    names = [*dataset.train.names, *dataset.test.names]
    assert "caf\ufffd/n\ufffdame.png" in names
    for name in [*dataset.class_names, *names]:
        name.encode("utf-8")  # no surrogate escapes: config.json, protobuf and the page all take them
        assert "\u202e" not in name
    assert json.loads(json.dumps(list(dataset.class_names), ensure_ascii=False)) == list(dataset.class_names)


def test_a_folder_of_too_many_files_is_refused_before_any_is_read(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(data_module, "MAX_FILES", 5)
    for class_name in ("a", "b"):
        (tmp_path / class_name).mkdir()
        for i in range(3):
            _png_file(tmp_path / class_name / f"{i}.png")
    monkeypatch.setattr(data_module, "_read_image", lambda *args: pytest.fail("an image was read"))
    with pytest.raises(DataError, match="more than 5 files"):
        load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=8))


def test_a_folder_too_large_for_memory_at_the_chosen_size_is_streamed(tmp_path: Path, monkeypatch):
    (tmp_path / "a").mkdir()
    for i in range(4):
        _png_file(tmp_path / "a" / f"{i}.png")
    monkeypatch.setenv("AECORE_IMAGE_CACHE", str(tmp_path.parent / f"{tmp_path.name}-cache"))
    budget = 4 * 3 * 16 * 16 * 4  # bytes: four 16x16 RGB images as float32
    fits = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=16, val_fraction=0.0), memory_budget=budget)
    assert len(fits.train) >= 3 and fits.loading.startswith("In memory")
    streamed = load_dataset(DataConfig(name=f"folder:{tmp_path}", image_size=17), memory_budget=budget)
    assert streamed.loading.startswith("Streamed: 4 images of 17x17 RGB would take")
