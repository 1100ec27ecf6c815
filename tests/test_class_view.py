"""The teacher's view for the class (aecore.jobs.class_view): versions move only when the view changes, only the
teacher's key writes, a view goes quiet when the teacher leaves, and the class is counted without names."""

import threading

import pytest

from aecore.jobs.class_view import LIVE_S, SEEN_S, ClassView, TourStep, View, shared_class_view
from aecore.jobs.service import new_key

TEACHER = new_key()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def view(clock):
    return ClassView(TEACHER, clock=clock)


def test_nothing_to_follow_until_the_teacher_publishes(view):
    assert view.live_version() == 0 and view.current() is None
    assert view.check_in(new_key(), True) == 0


def test_the_version_goes_up_only_when_the_view_changes(view):
    first = view.publish(TEACHER, "views/explore.py", {"model": "mnist-ae-latent2", "grid": "20"})
    assert first == 1
    assert view.publish(TEACHER, "views/explore.py", {"grid": "20", "model": "mnist-ae-latent2"}) == 1  # same view
    assert view.publish(TEACHER, "views/explore.py", {"model": "mnist-ae-latent2", "grid": "10"}) == 2
    assert view.publish(TEACHER, "views/home.py", {"model": "mnist-ae-latent2"}) == 3
    step = TourStep("Lecture 001", 0, 6, "784 pixels squeezed into 2 numbers.")
    assert view.publish(TEACHER, "views/home.py", {"model": "mnist-ae-latent2"}, step) == 4  # the tour's step counts
    assert view.current() == View("views/home.py", (("model", "mnist-ae-latent2"),), step, 4)
    assert view.current().query == {"model": "mnist-ae-latent2"}
    assert view.live_version() == 4 and view.check_in(new_key(), True) == 4


def test_a_run_that_ends_with_its_widgets_defaults_refines_the_view_under_the_same_version(view):
    """A page's first run publishes before its widgets exist, then with the values they were drawn with."""
    assert view.publish(TEACHER, "views/interpolate.py", {"model": "mnist-ae-latent2"}) == 1
    assert view.publish(TEACHER, "views/interpolate.py", {"model": "mnist-ae-latent2", "slerp": "0"}, refine=True) == 1
    assert view.current() == View("views/interpolate.py", (("model", "mnist-ae-latent2"), ("slerp", "0")), None, 1)
    # a value changed, even at a run's end, is a new view; so is a value added by the teacher's own control
    assert view.publish(TEACHER, "views/interpolate.py", {"model": "mnist-vae-latent2", "slerp": "0"},
                        refine=True) == 2
    assert view.publish(TEACHER, "views/interpolate.py", {"model": "mnist-vae-latent2", "slerp": "0",
                                                          "to_image": "5"}) == 3
    assert view.publish(TEACHER, "views/home.py", {"model": "mnist-vae-latent2", "slerp": "0"}, refine=True) == 4


# fixed keys: a key made at collection differs between pytest-xdist's workers, which then refuse to run
@pytest.mark.parametrize("key", ["a-students-own-key-of-22", "", None, TEACHER[:-1], TEACHER + "x"],
                         ids=["another key", "empty", "none", "one character short", "one character more"])
def test_only_the_teacher_key_publishes(view, key):
    view.publish(TEACHER, "views/home.py", {})
    with pytest.raises(PermissionError):
        view.publish(key, "views/explore.py", {"model": "mnist-vae-latent2"})
    with pytest.raises(PermissionError):
        view.present(key)
    assert view.current() == View("views/home.py", (), None, 1)  # unchanged


def test_a_view_is_followed_only_while_the_teacher_presents(view, clock):
    view.publish(TEACHER, "views/home.py", {})
    clock.now += LIVE_S + 1  # the presenter view closed: nothing to follow
    assert view.live_version() == 0 and view.current() is None and view.check_in(new_key(), True) == 0
    view.present(TEACHER)  # back: the same view, the same version
    assert view.live_version() == 1 and view.current().version == 1


def test_the_class_is_counted_following_and_exploring_within_the_last_seconds(view, clock):
    students = [new_key() for _ in range(30)]
    for i, key in enumerate(students):
        view.check_in(key, following=i % 3 != 0)
    view.check_in(TEACHER, True)  # the teacher's own pages are not the class
    assert view.counts() == (20, 10)
    view.check_in(students[1], False)  # a student who broke away, seen again: counted once
    assert view.counts() == (19, 11)
    clock.now += SEEN_S - 1
    for key in students[:5]:
        view.check_in(key, True)
    clock.now += 2  # the others' pages have not checked in for more than SEEN_S: closed tabs
    assert view.counts() == (5, 0)
    clock.now += SEEN_S + 1
    assert view.counts() == (0, 0)


def test_thirty_pages_checking_in_at_once_with_the_teacher_publishing(view):
    errors = []

    def student(key: str) -> None:
        try:
            for _ in range(200):
                assert view.check_in(key, True) >= 0
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=student, args=(new_key(),)) for _ in range(30)]
    for thread in threads:
        thread.start()
    for n in range(100):
        view.publish(TEACHER, "views/explore.py", {"grid": str(n % 30)})
    for thread in threads:
        thread.join()
    assert errors == [] and view.counts() == (30, 0) and view.live_version() == 100


def test_one_class_view_per_process_led_by_the_service_key():
    assert shared_class_view(TEACHER) is shared_class_view(TEACHER)
    assert shared_class_view(TEACHER).is_teacher(TEACHER) and not shared_class_view(TEACHER).is_teacher(new_key())
