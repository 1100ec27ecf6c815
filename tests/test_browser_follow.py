"""In Chromium: one teacher and five students on one server. The students' pages follow the teacher's presenter view
(issue 28): the teacher moves through three pages and a lesson tour's step, and every following student's page
shows the same view (the same link but ``present``) within 2 s; a student who changes a control breaks away, stays
put and rejoins in one click; the presenter counts who follows; a student page cannot take the teacher's role.

Nothing sleeps: each wait is for a condition a page shows. The 2 s target is the product's; the waits allow more
(FOLLOW_MS) because this machine runs the server and six browsers on two cores, and the times measured are printed.
"""

import re
import time

from streamlit_server import choose, require_chromium, settle, shoot, start_server, stop_server, visit

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

from aecore.jobs.service import new_key  # noqa: E402

TEACHER_KEY = new_key()
TARGET_S = 2  # a following page shows the teacher's change within this (issue 28)
FOLLOW_MS = 20_000  # what the waits allow on a loaded 2-core machine
SLERP = "Spherical (slerp), for a VAE's Gaussian prior"  # a toggle on Interpolate
TOUR = "Lecture 000: a convolutional autoencoder"  # step 1: Home on mnist-conv-ae; step 2: Inside, Layer shapes
TITLES = {"": "Autoencoder Lab", "interpolate": "Interpolate and generate", "inside": "Inside the network"}


def _visit_all(contexts, urls: list[str]) -> list[Page]:
    """A tab of each context on its URL, all loading at once (as a class opens the link), their scripts done."""
    pages = [context.new_page() for context in contexts]
    for page, url in zip(pages, urls, strict=True):
        page.set_default_timeout(60_000)
        page.goto(url, wait_until="commit")
    for page in pages:
        settle(page)
    return pages


def _view(url: str) -> str:
    """A page's URL without ``present``: what a student following the teacher's URL shows."""
    return re.sub(r"present=1&?", "", url).rstrip("?&")


def _showing(view: str) -> re.Pattern:
    """A URL showing ``view``, in the plain view or the presenter's."""
    path, _, query = view.partition("?")
    return re.compile(re.escape(path) + (r"\?(present=1&)?" + re.escape(query) if query else r"(\?present=1)?") + "$")


def _teacher_opens(teacher: Page, title: str) -> None:
    sidebar = teacher.get_by_test_id("stSidebar")
    if sidebar.get_attribute("data-collapsed") == "true":  # the presenter view folds it away
        teacher.get_by_test_id("stExpandSidebarButton").click()
        expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    settle(teacher)


def _follow(teacher: Page, students: list[Page], times: list[float], caption: str | None = None) -> str:
    """Every page of ``students`` shows the teacher's view now (its link, its title, the tour's caption); the time
    the last took after the teacher's page settled goes to ``times``. Returns the view."""
    started = time.monotonic()
    message = f"a following student shows the teacher's view within {TARGET_S} s (allowed {FOLLOW_MS} ms here)"
    view = _view(teacher.url)
    while not all(_showing(view).match(student.url) for student in students):  # the teacher's view now: a run
        # that switched pages can leave the teacher's link a moment before its page's values are written into it
        assert time.monotonic() - started < FOLLOW_MS / 1000, f"{message}: {view} against {[s.url for s in students]}"
        students[0].wait_for_timeout(100)
        view = _view(teacher.url)
    title = TITLES[view.split("?")[0].rsplit("/", 1)[-1]]
    for student in students:
        expect(student.locator("h1", has_text=title), message).to_be_attached(timeout=FOLLOW_MS)
        if caption:
            expect(student.locator(".st-key-tour_bar .tour-caption"), message).to_have_text(caption,
                                                                                             timeout=FOLLOW_MS)
    times.append(time.monotonic() - started)
    return view


def _switch(page: Page, label: str):
    return page.get_by_test_id("stMain").get_by_role("switch", name=label)


def _turn_on(page: Page, label: str, tries: int = 3) -> None:
    """Click switch ``label`` on until it shows on: a click that lands while the page reruns (the presenter's
    watcher runs every second) can be lost on a loaded machine."""
    for attempt in range(tries):
        page.get_by_test_id("stMain").get_by_text(label, exact=True).click()
        settle(page)
        try:
            expect(_switch(page, label)).to_be_checked(timeout=5_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def _counts(teacher: Page, following: int, exploring: int) -> None:
    expect(teacher.locator(".follow-counts")).to_have_text(f"{following} following, {exploring} exploring")


def test_five_students_follow_the_teacher_break_away_and_rejoin(browser, tmp_path):
    process, url = start_server(tmp_path / "streamlit.log", {"AECORE_TEACHER_KEY": TEACHER_KEY})
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720})]
    contexts += [browser.new_context(viewport={"width": 1024, "height": 700}) for _ in range(5)]
    times: list[float] = []
    try:
        teacher = visit(contexts[0], f"{url}/?teacher={TEACHER_KEY}&present=1")  # the teacher's link
        assert TEACHER_KEY not in teacher.url  # the key leaves the address bar
        # the fifth student tries the teacher's link with a key of their own, in the presenter view
        students = _visit_all(contexts[1:], [url + "/"] * 4 + [f"{url}/?teacher={new_key()}&present=1"])
        followers, rebel = students[:4], students[4]
        _counts(teacher, 5, 0)
        for student in students:
            expect(student.get_by_test_id("stSidebar").get_by_role("switch", name="Follow the teacher")
                   ).to_be_checked()
        expect(rebel.locator(".follow-counts")).to_have_count(0)  # no counts, no broadcast: a student

        _teacher_opens(teacher, "Interpolate")  # page 1
        _follow(teacher, students, times)
        _turn_on(teacher, SLERP)  # a control
        expect(teacher).to_have_url(re.compile(r"slerp=1"))  # the link follows once the run has ended
        taught = _follow(teacher, students, times)
        for student in students:
            expect(_switch(student, SLERP)).to_be_checked()  # the control itself shows the teacher's value
        settle(rebel)  # its run taking the view is over: the click below is the student's own

        rebel.get_by_test_id("stMain").get_by_text(SLERP, exact=True).click()  # breaks away
        settle(rebel)
        expect(rebel.get_by_text("You are exploring on your own")).to_be_visible()
        expect(rebel.get_by_role("button", name="Follow the teacher again")).to_be_visible()
        _counts(teacher, 4, 1)
        away = rebel.url
        assert "slerp=0" in away and "present=1" in away  # a presenter view, but a student's
        for student in followers:  # the rebel's presenter view leads nobody
            expect(student).to_have_url(taught)
        expect(teacher).to_have_url(re.compile(r"slerp=1"))

        _teacher_opens(teacher, "Inside")  # page 2
        _follow(teacher, followers, times)
        assert rebel.url == away  # stays put
        expect(rebel.get_by_text("You are exploring on your own")).to_be_visible()

        sidebar = teacher.get_by_test_id("stSidebar")  # a lesson tour: its first step is Home, on a new model
        sidebar.get_by_text("Lesson tours").click()
        picker = sidebar.get_by_test_id("stSelectbox").filter(has_text="Tour")
        expect(picker).to_be_visible()
        choose(teacher, picker, TOUR)
        settle(teacher)
        sidebar.get_by_role("button", name="Start", exact=True).click()
        settle(teacher)
        expect(teacher).to_have_url(re.compile(r"model=mnist-conv-ae"))  # the link follows once the run has ended
        caption = teacher.locator(".st-key-tour_bar .tour-caption").inner_text()
        view = _follow(teacher, followers, times, caption)  # page 3
        assert "model=mnist-conv-ae" in view
        for student in followers:
            expect(student.get_by_role("combobox", name="Model to explore")).to_have_value(
                re.compile("^mnist-conv-ae"))  # a model they had not loaded
            expect(student.locator(".st-key-tour_bar")).to_contain_text("step 1 of")
        teacher.locator(".st-key-tour_next button").first.click()  # a tour's step
        expect(teacher.locator(".st-key-tour_bar")).to_contain_text("step 2 of")  # a loaded server starts the run late
        settle(teacher)
        caption = teacher.locator(".st-key-tour_bar .tour-caption").inner_text()
        view = _follow(teacher, followers, times, caption)
        assert "tab=Layer+shapes" in view
        shoot(teacher, "follow-teacher", full_page=False)
        shoot(followers[0], "follow-student", full_page=False)
        assert rebel.url == away
        _counts(teacher, 4, 1)

        rebel.get_by_role("button", name="Follow the teacher again").click()  # one click back
        _follow(teacher, [rebel], times, caption)
        expect(rebel.get_by_text("You are exploring on your own")).to_have_count(0)
        _counts(teacher, 5, 0)
        shoot(rebel, "follow-rejoined", full_page=False)
        for page in (teacher, *students):
            expect(page.get_by_test_id("stException")).to_have_count(0)
        print(f"following pages took {', '.join(f'{t:.1f}' for t in times)} s after the teacher's (target "
              f"{TARGET_S} s)")
    finally:
        for context in contexts:
            context.close()
        stop_server(process)
