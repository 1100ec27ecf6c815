"""A sample of a split's codes: which images it holds, and searches that answer with split rows."""

import numpy as np
import pytest

from aecore.code_sample import CodeSample, encode_sample
from aecore.latent import encode_images


def test_a_capped_sample_holds_the_codes_and_labels_of_the_images_it_names(digits, model):
    sample = encode_sample(model, digits.test, cap=50, seed=3)
    assert len(sample) == 50 and sample.codes.shape == (50, 4)
    assert np.all(np.diff(sample.indices) > 0) and sample.indices.max() < len(digits.test)
    np.testing.assert_allclose(sample.codes, encode_images(model, digits.test.x[sample.indices]), rtol=1e-5)
    assert sample.labels.tolist() == digits.test.y[sample.indices].tolist()
    assert encode_sample(model, digits.test, cap=50, seed=3).indices.tolist() == sample.indices.tolist()
    assert len(encode_sample(model, digits.test, cap=10**6)) == len(digits.test)  # under the cap: every image


def test_nearest_answers_with_split_rows_nearest_first():
    codes = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    sample = CodeSample(codes, np.array([0, 1, 1]), indices=np.array([10, 20, 30]))
    rows, distances = sample.nearest(np.array([[0.9, 0.0]]), k=2)
    assert rows.tolist() == [[20, 10]]
    assert distances[0] == pytest.approx([0.1, 0.9], abs=1e-6)
    assert sample.distance_to_nearest(codes) == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_an_image_of_a_class_wraps_around_and_an_absent_class_falls_back_to_the_first():
    sample = CodeSample(np.zeros((5, 2), dtype=np.float32), np.array([3, 1, 3, 3, 1]), np.arange(5))
    assert sample.classes == [1, 3]
    assert [sample.row_of_class(3, nth) for nth in range(4)] == [0, 2, 3, 0]
    assert sample.row_of_class(1, 1) == 4
    assert sample.row_of_class(7) == 0
