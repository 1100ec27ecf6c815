"""Follow the teacher, in app.py's runs (AppTest): the teacher's presenter view broadcasts its view and sees the
class's counts; a student's page takes the teacher's view (page, model, state, the tour's caption), breaks away
when the student changes a control, stays put, and rejoins in one click; no other browser broadcasts.
tests/test_browser_follow.py does the same with a class in Chromium."""


import pytest
from app_runs import open_app
from streamlit.testing.v1 import AppTest
from widget_warnings import no_widget_default_overridden  # noqa: F401  (an autouse fixture)

from aecore import checkpoints
from aecore.checkpoints import PRETRAINED_DIR
from aecore.jobs import class_view as class_view_module
from aecore.jobs.class_view import TourStep
from aecore.jobs.service import new_key
from aecore.ui import follow, links
from aecore.ui.shared_resources import job_service
from aecore.ui.widgets import SELECTED_RUN

STEP = TourStep("Lecture 000: a convolutional autoencoder", 1, 6, "Stride-2 convolutions shrink the image.")


@pytest.fixture(autouse=True)
def fresh_class_view(tmp_path, monkeypatch):
    """A class view of this test's own (the server's is one per process), and only the shipped runs."""
    monkeypatch.setattr(class_view_module, "_shared", None)
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")


def _here(at: AppTest) -> AppTest:
    """The next run asks for the page the last one showed, as a browser does (AppTest asks again for the page it was
    last switched to, not for one the script switched to)."""
    return at.switch_page(at.session_state[links.PAGE_KEY])


def _teacher() -> str:
    return job_service().teacher_key


def _counts(at: AppTest) -> list[str]:
    return [element.value for element in at.markdown if "follow-counts" in element.value]


def _banner(at: AppTest) -> bool:
    return any("exploring on your own" in element.value for element in at.markdown)


def _woken(monkeypatch) -> list[int]:
    """Each call that asks the following pages for a rerun (aecore.ui.session_wake), recorded."""
    calls: list[int] = []
    monkeypatch.setattr(follow.session_wake, "rerun_listeners", lambda: calls.append(1) or 0)
    return calls


def _listening(monkeypatch) -> list[bool]:
    """What each run of a page said about wanting that rerun, recorded."""
    said: list[bool] = []
    monkeypatch.setattr(follow.session_wake, "listen", said.append)
    return said


def test_the_teachers_presenter_view_broadcasts_its_view_and_sees_the_counts(monkeypatch):
    woken = _woken(monkeypatch)
    teacher = open_app("views/home.py", {"teacher": _teacher(), "present": "1"})
    assert not teacher.exception
    shown = follow.class_view().current()
    assert (shown.page, shown.query, shown.version) == ("views/home.py", {}, 1)
    assert len(woken) == 1  # a new view: the following pages are asked to rerun at once
    assert _counts(teacher) == ["<div class='follow-counts'>0 following, 0 exploring</div>"]
    assert follow.TOGGLE_KEY not in teacher.session_state  # the teacher follows nobody

    teacher.selectbox(key="run_picker").set_value(PRETRAINED_DIR / "mnist-vae-latent2").run()  # a control
    shown = follow.class_view().current()
    assert (shown.page, shown.query, shown.version) == ("views/home.py", {"model": "mnist-vae-latent2"}, 2)
    teacher.run()  # nothing changed: the same version
    assert follow.class_view().live_version() == 2 and len(woken) == 2  # one wake-up per new view

    student = open_app("views/home.py")
    assert student.session_state[SELECTED_RUN] == str(PRETRAINED_DIR / "mnist-vae-latent2")
    teacher.run()
    assert _counts(teacher) == ["<div class='follow-counts'>1 following, 0 exploring</div>"]


def test_no_broadcast_from_the_teacher_outside_the_presenter_view_nor_from_a_student_in_it():
    teacher = open_app("views/home.py", {"teacher": _teacher()})
    assert not teacher.exception and follow.class_view().current() is None and not _counts(teacher)
    student = open_app("views/inside.py", {"teacher": new_key(), "present": "1"})  # a key of their own
    assert not student.exception
    assert follow.class_view().current() is None and not _counts(student)
    assert student.toggle(key=follow.TOGGLE_KEY).value is True  # a student, following (nobody, yet)
    assert "teacher" not in student.query_params  # the key left the link


def test_a_student_takes_the_teachers_view_breaks_away_stays_put_and_rejoins_in_one_click(monkeypatch):
    listening = _listening(monkeypatch)
    view = follow.class_view()
    view.publish(_teacher(), "views/inside.py", {"model": "mnist-conv-ae", "tab": "Layer shapes"}, STEP)
    student = open_app("views/home.py")
    assert not student.exception
    assert student.session_state[links.PAGE_KEY] == "views/inside.py"  # switched to the teacher's page
    assert [title.value for title in student.title] == ["Inside the network"]
    assert student.session_state[SELECTED_RUN] == str(PRETRAINED_DIR / "mnist-conv-ae")  # a model not loaded before
    assert student.session_state["inside_tab"] == "Layer shapes"
    assert any(STEP.caption in element.value for element in student.markdown)  # the tour's caption, read-only
    assert any("step 2 of 6" in element.value for element in student.markdown)
    assert "tour_next" not in [button.key for button in student.button]  # no Back or Next: the teacher leads
    assert not _banner(student) and view.counts() == (1, 0) and listening[-1] is True

    _here(student).selectbox(key="run_picker").set_value(PRETRAINED_DIR / "mnist-ae-latent2").run()  # breaks away
    assert _banner(student) and student.toggle(key=follow.TOGGLE_KEY).value is False and view.counts() == (0, 1)
    assert listening[-1] is False  # exploring: the teacher's next view does not rerun this page
    view.publish(_teacher(), "views/home.py", {"model": "mnist-vae-latent2"})
    _here(student).run()  # a second passes: the teacher moved on, the student stays put
    assert student.session_state[links.PAGE_KEY] == "views/inside.py"
    assert student.session_state[SELECTED_RUN] == str(PRETRAINED_DIR / "mnist-ae-latent2")

    _here(student).button(key="follow_again").click().run()  # one click back
    assert not student.exception and not _banner(student)
    assert student.session_state[links.PAGE_KEY] == "views/home.py"
    assert student.session_state[SELECTED_RUN] == str(PRETRAINED_DIR / "mnist-vae-latent2")
    assert student.toggle(key=follow.TOGGLE_KEY).value is True and view.counts() == (1, 0) and listening[-1]

    _here(student).toggle(key=follow.TOGGLE_KEY).set_value(False).run()  # Follow off by hand: exploring too
    view.publish(_teacher(), "views/inside.py", {})
    _here(student).run()
    assert student.session_state[links.PAGE_KEY] == "views/home.py" and _banner(student)
    _here(student).toggle(key=follow.TOGGLE_KEY).set_value(True).run()  # on again: the teacher's view at once
    assert student.session_state[links.PAGE_KEY] == "views/inside.py" and not _banner(student)


def test_a_teachers_first_run_of_a_page_is_one_view_which_a_student_takes_once():
    """The teacher's first Interpolate publishes as it starts (no slerp yet: the toggle's default follows the model)
    and as it ends (slerp=0): one version, one wake-up; a student who took the first form draws the same default
    and does not take the view again."""
    view = follow.class_view()
    view.publish(_teacher(), "views/interpolate.py", {})  # as the teacher's run starts
    student = open_app("views/home.py")
    assert student.session_state[links.PAGE_KEY] == "views/interpolate.py"
    assert links.view_params("views/interpolate.py", student.session_state)["slerp"] == "0"
    teacher = open_app("views/interpolate.py", {"teacher": _teacher(), "present": "1"})
    assert not teacher.exception
    shown = view.current()
    assert shown.version == 1 and shown.query["slerp"] == "0"  # refined: the class has nothing new to take
    _here(student).run()
    assert student.session_state[follow.APPLIED_KEY].version == 1 and follow.RETRIED_KEY not in student.session_state


def test_a_student_who_opens_another_page_breaks_away():
    follow.class_view().publish(_teacher(), "views/home.py", {})
    student = open_app("views/home.py")
    assert student.toggle(key=follow.TOGGLE_KEY).value is True
    student.switch_page("views/inside.py").run()
    assert student.toggle(key=follow.TOGGLE_KEY).value is False and _banner(student)
    assert student.session_state[links.PAGE_KEY] == "views/inside.py"


def test_a_following_page_lets_the_server_send_what_is_queued_before_its_body_and_no_other_page_waits(monkeypatch):
    waits: list[str] = []  # the calls of aecore.ui.send_pacing.catch_up
    monkeypatch.setattr(follow.send_pacing, "catch_up", lambda: waits.append("waited"))
    view = follow.class_view()
    view.publish(_teacher(), "views/home.py", {})
    student = open_app("views/home.py")
    assert len(waits) == 1  # following: one wait, before the page's body
    _here(student).selectbox(key="run_picker").set_value(PRETRAINED_DIR / "mnist-conv-ae").run()
    assert _banner(student) and len(waits) == 1  # exploring: runs at once
    teacher = open_app("views/home.py", {"teacher": _teacher(), "present": "1"})
    assert not teacher.exception and len(waits) == 1  # the teacher's presenter view never waits
