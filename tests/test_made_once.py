import numpy as np

from aecore.ui import charts, presenter
from aecore.ui.made_once import MadeOnce, digest_of


def test_a_value_is_made_once_for_equal_parts_and_again_for_any_difference():
    made = []
    memo = MadeOnce(kept=16)

    def value(*parts):
        return memo.get(lambda: made.append(parts) or object(), *parts)

    codes = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = value(codes, 3, None)
    assert value(codes.copy(), 3, None) is first and len(made) == 1  # equal contents: the same object
    for other in [(codes.astype(np.float64), 3, None), (codes.reshape(3, 2), 3, None), (codes + 1, 3, None),
                  (codes, 4, None), (codes, 3, 0), (codes, "3", None), (codes, 3)]:
        assert value(*other) is not first
    assert len(made) == 8


def test_only_the_last_values_are_kept():
    memo, made = MadeOnce(kept=2), []
    for part in (1, 2, 3, 1):
        memo.get(lambda part=part: made.append(part), part)
    assert made == [1, 2, 3, 1]  # the first was let go when the third came
    assert digest_of(np.zeros(2)) != digest_of(np.zeros(2, dtype=np.float32))


def test_the_path_chart_is_shared_for_a_view_and_drawn_apart_for_the_presenter(monkeypatch):
    distances = np.array([0.1, 0.5, 0.2], dtype=np.float32)
    plain = charts.path_distance_figure(distances, 0.3, 0.5)
    assert charts.path_distance_figure(distances.copy(), 0.3, 0.5) is plain
    assert charts.path_distance_figure(distances, 0.3, 0.6) is not plain  # the handle moved
    monkeypatch.setattr(presenter, "presenting", lambda: True)
    presented = charts.path_distance_figure(distances, 0.3, 0.5)
    assert presented is not plain and presented.layout.font.size > plain.layout.font.size


def test_a_latent_map_is_shared_for_the_same_points_and_options_and_made_again_when_one_differs():
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    labels = np.arange(50) % 10
    names = tuple(str(label) for label in range(10))

    def draw(points=points, marker=None, background=None):
        return charts.latent_map_figure(points, labels, names, axis_labels=("z0", "z1"), marker=marker,
                                        background=background, bounds=(-3.0, 3.0, -3.0, 3.0))

    first = draw()
    assert draw(points=points.copy()) is first
    moved = points.copy()
    moved[7, 1] += 1e-3
    others = [draw(points=moved), draw(marker=(0.5, 0.5)), draw(background=b"\x89PNG one"),
              draw(background=b"\x89PNG two")]
    assert all(other is not first for other in others) and others[2] is not others[3]
    assert others[1].data[-1].marker.symbol == "star" and first.data[-1].marker.symbol != "star"

