"""Page bodies a few at a time (aecore/ui/page_slots.py): never more than the slots at once, the teacher at once,
and a body that has waited long enough runs anyway."""

import threading
import time

import pytest

from aecore.ui import page_slots


@pytest.fixture
def two_slots(monkeypatch):
    monkeypatch.setattr(page_slots, "_slots", threading.BoundedSemaphore(2))


def _bodies(count: int, *, wait: bool = True, hold: threading.Event) -> tuple[list[threading.Thread], list[int]]:
    """``count`` page bodies on threads, each holding its slot until ``hold`` is set; the number running, sampled."""
    running, lock, seen = [0], threading.Lock(), []

    def body() -> None:
        with page_slots.page_slot(wait=wait):
            with lock:
                running[0] += 1
                seen.append(running[0])
            hold.wait(10)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, seen


def _running_now(seen: list[int], count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_no_more_bodies_run_at_once_than_there_are_slots(two_slots):
    hold = threading.Event()
    threads, seen = _bodies(6, hold=hold)
    _running_now(seen, 2)
    time.sleep(0.2)  # the other four had the time to start, had they not waited
    assert seen == [1, 2]
    hold.set()
    for thread in threads:
        thread.join(10)
    assert len(seen) == 6 and max(seen) == 2


def test_the_teachers_body_does_not_wait(two_slots):
    hold = threading.Event()
    students, seen = _bodies(2, hold=hold)
    _running_now(seen, 2)
    teacher, teacher_seen = _bodies(1, wait=False, hold=hold)
    _running_now(teacher_seen, 1)
    assert teacher_seen == [1]  # it ran beside two students holding both slots
    hold.set()
    for thread in (*students, *teacher):
        thread.join(10)


def test_a_body_that_waited_long_enough_runs_anyway_and_gives_back_no_slot_it_did_not_take(two_slots, monkeypatch):
    monkeypatch.setattr(page_slots, "LONGEST_WAIT_S", 0.2)
    hold = threading.Event()
    students, seen = _bodies(2, hold=hold)
    _running_now(seen, 2)
    started = time.monotonic()
    with page_slots.page_slot():  # both slots held: it runs after LONGEST_WAIT_S
        waited = time.monotonic() - started
    assert waited >= 0.2
    hold.set()
    for thread in students:
        thread.join(10)
    assert page_slots._slots.acquire(blocking=False) and page_slots._slots.acquire(blocking=False)  # both back
    assert not page_slots._slots.acquire(blocking=False)  # and no third one given back by the late body
