"""Links: every page's state goes into the query string as it changes, and a new session (a fresh browser)
opening that link shows the same view; garbage in a link falls back to the default with a note, never a
traceback, and no widget is drawn with a default that a link's value then overrides (Streamlit's warning); the
Share dialog shows the link and a QR code of it. That each page shows the defaults its link leaves out is checked
where every page is rendered (tests/test_pages.py)."""

import io
from pathlib import Path

import numpy as np
import pytest
import segno
from PIL import Image
from streamlit.testing.v1 import AppTest
from widget_warnings import no_widget_default_overridden  # noqa: F401  (an autouse fixture)

from aecore import checkpoints, image_stream, labs
from aecore.checkpoints import PRETRAINED_DIR
from aecore.presets import get_preset
from aecore.settings import values_of
from aecore.ui import composite_state, links, share, state_values
from aecore.ui.image_upload import FOLDER_KEY, REPORT_KEY
from aecore.ui.map_pick import MapPick
from aecore.ui.page_state import input_shape
from aecore.ui.presenter import PRESENT_KEY
from aecore.ui.sidebar import SETTINGS_KEY, Keys, settings_from_params, settings_params
from aecore.ui.slow_motion_view import RATE_KEY
from aecore.ui.widgets import SELECTED_RUN

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    """Only the shipped runs: a saved run of the same name elsewhere cannot shadow them."""
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", tmp_path / "runs")


def _open(path: str, params: dict | None = None) -> AppTest:
    """A new session opening page ``path`` with the query string ``params``: what a fresh browser does with a link."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params or {})
    if path != "views/home.py":
        at.switch_page(path)
    return at.run()


def _reopen(at: AppTest, path: str) -> AppTest:
    """A new session opening the link that ``at``'s URL holds now."""
    fresh = _open(path, dict(at.query_params))
    assert not fresh.exception
    assert dict(fresh.query_params) == dict(at.query_params)  # and its URL says the same again
    return fresh


def _toasts(at: AppTest) -> str:
    return "\n".join(toast.value for toast in at.toast)


def _captions(at: AppTest) -> list[str]:
    return [e.proto.imgs[0].caption for e in at.get("image") if e.proto.imgs and e.proto.imgs[0].caption]


def _pick_run(at: AppTest, key: str, name: str) -> AppTest:
    widget = at.selectbox(key=key)
    return widget.select_index(next(i for i, option in enumerate(widget.options) if name in option)).run()


# --- the registry and the parsers, without Streamlit


def test_each_page_s_parameters_are_unique_and_not_the_settings():
    for path, page_links in links.PAGE_LINKS.items():
        names = [link.param for link in (*links.GLOBAL_LINKS, *page_links)]
        assert len(names) == len(set(names)), path
        assert not set(names) & links.RESERVED, path  # settings and Streamlit's own parameters keep their names


@pytest.mark.parametrize(("parse", "good", "bad"), [
    (state_values.integer(500, 10_000, 500), {"1500": 1500}, ["abc", "1499", "0", "10500", "1.5", ""]),
    (state_values.number(0.0, 1.0), {"0.25": 0.25, "1": 1.0}, ["nan", "inf", "-0.1", "x"]),
    (state_values.boolean, {"1": True, "off": False, "TRUE": True}, ["2", "maybe"]),
    (state_values.choice(("plane", "tsne")), {"tsne": "tsne"}, ["TSNE", "pca"]),
    (composite_state.point, {"1.5,-2": (1.5, -2.0)}, ["1", "1,2,3", "a,b", "nan,1"]),
    (composite_state.indices, {"3,17": (3, 17)}, ["", "-1", "a", "1.5", ",".join(["1"] * 501)]),
    (composite_state.lab_keys, {"two_d,toy": ("toy", "two_d")}, ["toy,nope"]),
    (input_shape, {"3x64x64": "3x64x64"}, ["64x64", "0x1x1"]),
    (state_values.run_path, {"mnist-ae-latent2": PRETRAINED_DIR / "mnist-ae-latent2"}, ["no-such-run", "../etc"]),
])
def test_parsers_take_good_text_and_refuse_garbage_with_what_they_expect(parse, good, bad):
    for text, value in good.items():
        assert parse(text) == value
    for text in bad:
        with pytest.raises(ValueError, match="expected|no shipped|CxHxW"):
            parse(text)


def test_a_state_written_as_parameters_reads_back_the_same():
    pick = MapPick(position=(0.5, -1.25), rows=(4, 9))
    state = {"run_picker": PRETRAINED_DIR / "mnist-vae-latent2", "explore_mode": "plane", "explore_split": "all",
             "explore_cap_all": 5000, "explore_pick_plane_all_5000": pick, PRESENT_KEY: True}
    params = links.page_params("views/explore.py", state)
    assert params == {"present": "1", "model": "mnist-vae-latent2", "images": "all", "cap": "5000",
                      "at": "0.5,-1.25", "picked": "4,9"}  # not map=plane: the page's default
    restored: dict = {}
    values, notes, loose = links.restore_links((*links.GLOBAL_LINKS, *links.PAGE_LINKS["views/explore.py"]), params,
                                               restored)
    assert notes == []
    assert restored[SELECTED_RUN] == str(PRETRAINED_DIR / "mnist-vae-latent2") and restored[PRESENT_KEY] is True
    assert restored["explore_pick_plane_all_5000"] == pick and restored["explore_cap_all"] == 5000
    assert loose == {SELECTED_RUN, "explore_pick_plane_all_5000"}  # not widgets': dropped if the page fails on them
    restored["explore_mode"] = "plane"  # as the page shows it without the parameter
    assert links.page_params("views/explore.py", {**restored, "run_picker": Path(restored[SELECTED_RUN])}) == params


def test_settings_are_written_as_what_differs_from_the_preset_and_read_back():
    settings = {"preset": "lecture-003-ae", "folder": "",
                **values_of(get_preset("lecture-003-ae").config), "latent": 7, "classes": (1, 2), "lr": 0.003}
    params = settings_params(settings)
    assert params == {"preset": "lecture-003-ae", "latent": "7", "classes": "1,2", "lr": "0.003"}
    assert settings_from_params(params) == (settings, [])
    assert settings_params(settings_from_params({})[0]) == {}  # the default preset untouched: nothing to say


def test_garbage_settings_keep_the_preset_value_with_a_note_each():
    settings, notes = settings_from_params({"preset": "nope", "latent": "-3", "lr": "fast", "dataset": "nowhere",
                                            "noise": "0.4"})
    assert settings["preset"] == "ae" and settings["noise"] == 0.4
    assert settings["latent"] == values_of(get_preset("ae").config)["latent"]
    assert settings["dataset"] == "mnist" and settings["lr"] == values_of(get_preset("ae").config)["lr"]
    assert len(notes) == 4 and all("\n" not in note for note in notes)
    assert any(note.startswith("preset=") for note in notes) and any("latent" in note for note in notes)


def test_the_qr_code_is_the_link_with_whole_pixel_modules_and_a_quiet_zone():
    link = "http://192.168.1.20:8501/interpolate?model=mnist-ae-latent2&from=7&to=1&steps=12&mix=0.3"
    image = np.asarray(Image.open(io.BytesIO(share.qr_png(link))).convert("L"))
    matrix = np.array(segno.make_qr(link, error="l", boost_error=True).matrix, dtype=bool)  # True: a dark module
    modules = len(matrix) + 8
    assert image.shape[0] == image.shape[1] and image.shape[0] % modules == 0
    pixels = image.shape[0] // modules
    assert pixels >= 8 and 400 <= image.shape[0] <= 480  # large enough to scan off a projector across a room
    centres = image[pixels // 2::pixels, pixels // 2::pixels]
    assert (centres[4:-4, 4:-4] < 128).tolist() == matrix.tolist()  # the picture is that code, module for module
    assert (centres[:4] > 128).all() and (centres[:, -4:] > 128).all()  # the white quiet zone


# --- AppTest: the real app, a link opened by a new session


def test_home_keeps_the_model_in_the_link():
    at = _open("views/home.py")
    _pick_run(at, "run_picker", "mnist-vae-latent2")
    assert at.query_params["model"] == "mnist-vae-latent2"
    fresh = _reopen(at, "views/home.py")
    assert "mnist-vae-latent2" in str(fresh.selectbox(key="run_picker").value)
    assert fresh.caption[0].value.startswith("mnist-vae-latent2 (shipped): eight test images")


def test_the_training_settings_travel_in_the_link():
    at = _open("views/train.py")
    at.selectbox(key=Keys.PRESET).select("lecture-003-ae").run()
    at.slider(key=Keys.LATENT).set_value(7).run()
    at.slider(key=Keys.NOISE).set_value(0.3).run()
    assert {k: at.query_params[k] for k in ("preset", "latent", "noise")} == {
        "preset": "lecture-003-ae", "latent": "7", "noise": "0.3"}
    fresh = _reopen(at, "views/train.py")
    assert fresh.session_state[SETTINGS_KEY] == at.session_state[SETTINGS_KEY]
    assert fresh.selectbox(key=Keys.PRESET).value == "lecture-003-ae" and fresh.slider(key=Keys.LATENT).value == 7
    assert any("**lecture-003-ae** (MLP AE) on **mnist** · latent 7 · noise 0.3" in m.value for m in fresh.markdown)


def test_explore_keeps_its_map_its_parameters_and_the_picked_image():
    at = _open("views/explore.py")
    at.select_slider(key="explore_cap_test").set_value(1000).run()
    at.slider(key="explore_grid").set_value(8).run()
    at.session_state["explore_map"] = {"selection": {  # a click on data point 3 of the map
        "points": [{"curve_number": 1, "point_number": 3, "point_index": 3, "x": 0.5, "y": 0.25}],
        "point_indices": [3], "box": [], "lasso": []}}
    at.run()
    at.slider(key="explore_k").set_value(5).run()
    picked = next(c for c in _captions(at) if c.startswith("test image "))
    assert dict(at.query_params) == {"cap": "1000", "grid": "8", "at": "0.5,0.25", "picked": "3", "neighbours": "5"}
    fresh = _reopen(at, "views/explore.py")
    assert fresh.select_slider(key="explore_cap_test").value == 1000 and fresh.slider(key="explore_grid").value == 8
    assert fresh.slider(key="explore_k").value == 5 and fresh.radio(key="explore_mode").value == "plane"
    assert picked in _captions(fresh)  # the same image is shown as picked


def test_interpolate_keeps_its_ends_its_mode_the_corners_and_the_generator():
    at = _open("views/interpolate.py")
    at.selectbox(key="interp_b_class").select(3).run()
    at.number_input(key="interp_a_index").set_value(123).run()
    at.slider(key="interp_steps").set_value(12).run()
    at.toggle(key="interp_slerp").set_value(True).run()
    at.slider(key="interp_alpha").set_value(0.3).run()
    at.selectbox(key="corner_2_class").select(4).run()
    at.slider(key="corner_n").set_value(7).run()
    at.slider(key="corner_v").set_value(0.8).run()
    at.number_input(key="gen_seed").set_value(5).run()
    assert {k: at.query_params[k] for k in ("to", "from_image", "steps", "slerp", "mix", "bottom_left", "grid",
                                             "v", "gen_seed")} == {
        "to": "3", "from_image": "123", "steps": "12", "slerp": "1", "mix": "0.3", "bottom_left": "4", "grid": "7",
        "v": "0.8", "gen_seed": "5"}
    fresh = _reopen(at, "views/interpolate.py")
    for key in ("interp_b_class", "corner_2_class"):
        assert fresh.selectbox(key=key).value == at.selectbox(key=key).value
    for key in ("interp_a_index", "gen_seed"):
        assert fresh.number_input(key=key).value == at.number_input(key=key).value
    for key in ("interp_steps", "interp_alpha", "corner_n", "corner_u", "corner_v"):
        assert fresh.slider(key=key).value == at.slider(key=key).value
    assert fresh.toggle(key="interp_slerp").value is True
    assert "test #123" in _captions(fresh)


def test_compare_inside_denoise_probes_and_draw_keep_their_state():
    at = _open("views/compare.py")
    at.slider(key="compare_cap").set_value(1000).run()
    _pick_run(at, "compare_right", "mnist-sparse-ae")
    assert at.query_params["right"] == "mnist-sparse-ae" and at.query_params["cap"] == "1000"
    fresh = _reopen(at, "views/compare.py")
    assert "mnist-sparse-ae" in str(fresh.selectbox(key="compare_right").value)

    at = _open("views/inside.py")
    at.session_state["inside_tab"] = "Activations"  # only the open tab draws (lazy tabs)
    at.run().number_input(key="inside_first").set_value(16).run()
    at.session_state["inside_tab"] = "Layer shapes"  # the closed tab's value stays in the link
    at.run().selectbox(key="layers_source").select("lecture-000-cae").run()
    at.text_input(key="layers_shape_lecture-000-cae").set_value("3x64x64").run()
    assert {k: at.query_params[k] for k in ("tab", "first", "layers", "shape")} == {
        "tab": "Layer shapes", "first": "16", "layers": "lecture-000-cae", "shape": "3x64x64"}
    fresh = _reopen(at, "views/inside.py")
    assert fresh.session_state["inside_tab"] == "Layer shapes"
    assert fresh.text_input(key="layers_shape_lecture-000-cae").value == "3x64x64"
    fresh.session_state["inside_tab"] = "Activations"
    assert fresh.run().number_input(key="inside_first").value == 16

    at = _open("views/denoise.py")
    at.radio(key="denoise_kind").set_value("salt_and_pepper").run()
    at.slider(key="denoise_level").set_value(0.25).run()
    fresh = _reopen(at, "views/denoise.py")
    assert fresh.radio(key="denoise_kind").value == "salt_and_pepper"
    assert fresh.slider(key="denoise_level").value == 0.25

    at = _open("views/probes.py")
    at.select_slider(key="probe_k").set_value(20).run()
    assert _reopen(at, "views/probes.py").select_slider(key="probe_k").value == 20

    at = _open("views/draw.py", {"model": "mnist-vae-latent2", "map": "umap"})
    assert not at.exception and "mnist-vae-latent2" in str(at.selectbox(key="run_picker").value)
    assert at.query_params["map"] == "umap"  # the map radio appears once a digit is drawn: kept until then


def test_the_labs_that_ran_are_in_the_link():
    at = _open("views/labs.py")
    at.button(key="lab_toy").click().run()
    assert at.query_params["lab"] == "toy"
    fresh = _reopen(at, "views/labs.py")
    assert any(m.value.endswith("all five exact: **yes**")
               for m in fresh.markdown)


def test_a_link_to_a_lab_shows_that_lab_first_and_a_button_press_moves_nothing():
    at = _open("views/labs.py", {"lab": "denoising"})
    titles = [h.value for h in at.subheader]
    assert titles[0] == labs.DENOISING.title and titles[1:] == [spec.title for spec in labs.LABS[:-1]]
    at.button(key="lab_toy").click().run()
    assert [h.value for h in at.subheader] == titles  # the page does not jump under the pointer
    assert at.query_params["lab"] == "toy,denoising"
    assert [h.value for h in _open("views/labs.py").subheader] == [spec.title for spec in labs.LABS]


def test_garbage_in_a_link_falls_back_to_the_defaults_with_a_note():
    at = _open("views/explore.py", {"cap": "lots", "map": "banana", "grid": "99", "model": "no-such-run",
                                    "latent": "x", "present": "maybe", "picked": "-1"})
    assert not at.exception and not at.error
    notes = _toasts(at)
    for param in ("cap=", "map=", "grid=", "model=", "latent", "present=", "picked="):
        assert param in notes
    assert at.select_slider(key="explore_cap_test").value == 2000 and at.slider(key="explore_grid").value == 15
    assert "mnist-ae-latent2" in str(at.selectbox(key="run_picker").value)
    assert dict(at.query_params) == {}  # the defaults, which a link leaves out


def test_values_that_do_not_fit_the_model_are_reset_and_noted():
    at = _open("views/interpolate.py", {"from": "42", "to_image": "999999", "steps": "8"})
    assert not at.exception
    assert "from='42' is not offered here" in _toasts(at) and "to_image='999999'" in _toasts(at)
    assert at.selectbox(key="interp_a_class").value == 7 and at.number_input(key="interp_b_index").value is None
    assert at.slider(key="interp_steps").value == 8  # the rest of the link still holds
    assert dict(at.query_params) == {"steps": "8", "slerp": "0"}  # slerp: always written, see links.PAGE_LINKS


def test_a_link_the_page_cannot_draw_is_dropped_and_the_page_drawn_again():
    at = _open("views/explore.py", {"cap": "500", "picked": "9999"})  # a row past the 500 images of the map
    assert not at.exception
    assert "could not be drawn" in _toasts(at)
    assert not any(c.startswith("test image ") for c in _captions(at))
    assert at.select_slider(key="explore_cap_test").value == 500 and "picked" not in at.query_params


def test_the_share_dialog_shows_the_link_and_its_qr_code():
    at = _open("views/interpolate.py", {"steps": "12"})
    at.button(key="share_view").click().run()
    assert not at.exception
    codes = [element.value for element in at.code]
    assert any(code.startswith("/interpolate?") and "steps=12" in code for code in codes)
    assert any("Scan it" in caption for caption in _captions(at))


# --- Sweep, Your images and Slow motion


def _round_trip(path: str, state: dict) -> dict:
    """``state`` written as page ``path``'s parameters, read back into a fresh state: what a new session gets."""
    params = links.page_params(path, state)
    fresh: dict = {}
    _, notes, _ = links.restore_page(path, params, fresh)
    assert notes == []
    assert links.page_params(path, fresh) == params  # and it says the same again
    return fresh


def test_a_sweep_written_as_parameters_reads_back_the_same():
    state = {"sweep_dataset": "digits", "sweep_preset": "lecture-003-ae", "sweep_epochs": 1,
             "sweep_axis_0": "classes", "sweep_values_classes": "1,5,6;0,1", "sweep_axis_1": "lr",
             "sweep_values_lr": "0.01,0.001", "sweep_stopping": "on"}
    assert links.page_params("views/sweep.py", state) == {
        "data": "digits", "base": "lecture-003-ae", "run_epochs": "1", "vary": "classes:1,5,6;0,1",
        "vary2": "lr:0.01,0.001", "stopping": "on"}
    assert _round_trip("views/sweep.py", state) == state
    one_axis = {"sweep_axis_0": "noise", "sweep_values_noise": "0,0.2", "sweep_axis_1": composite_state.NOTHING}
    assert links.page_params("views/sweep.py", one_axis) == {"vary": "noise:0,0.2", "vary2": "none"}
    assert _round_trip("views/sweep.py", one_axis) == one_axis


def test_a_sweep_link_never_varies_one_setting_on_both_axes():
    state: dict = {}
    _, notes, _ = links.restore_page("views/sweep.py", {"vary": "latent:2,4", "vary2": "latent:3"}, state)
    assert notes == ["vary2='latent:3': expected a setting other than the first axis's"]
    assert (state["sweep_axis_0"], state.get("sweep_axis_1", "noise")) == ("latent", "noise")
    state = {}
    links.restore_page("views/sweep.py", {"vary": "noise:0,0.1"}, state)  # the second axis's default is noise
    assert (state["sweep_axis_0"], state["sweep_axis_1"]) == ("noise", composite_state.NOTHING)
    links.restore_view("views/sweep.py", {"vary": "noise:0,0.1"}, state)  # mid-session: the same
    assert (state["sweep_axis_0"], state["sweep_axis_1"]) == ("noise", composite_state.NOTHING)


def test_your_images_and_slow_motion_written_as_parameters_read_back_the_same(tmp_path, monkeypatch):
    folder = tmp_path / "class" / "faces"
    folder.mkdir(parents=True)
    monkeypatch.setenv("AECORE_IMAGE_ROOTS", str(tmp_path / "class"))
    state = {"own_folder": str(folder.resolve()), "own_report": [], "own_size": 96, "own_colour": "grey",
             "own_latent": 16, "own_split": 0.35, "own_model": "conv-vae", "own_epochs": 7, "own_map": "umap"}
    assert links.page_params("views/own_images.py", state) == {
        "folder": str(folder.resolve()), "size": "96", "colour": "grey", "code": "16", "test_share": "0.35",
        "kind": "conv-vae", "train_epochs": "7", "map": "umap"}
    assert _round_trip("views/own_images.py", state) == state
    assert _round_trip("views/slow_motion.py", {"slowmo_rate": 4.0}) == {"slowmo_rate": 4.0}


def test_an_upload_or_a_folder_outside_the_allowed_ones_is_never_in_a_link(tmp_path, monkeypatch):
    monkeypatch.setenv("AECORE_IMAGE_ROOTS", str(tmp_path / "class"))
    upload = tmp_path / "class" / "aecore-upload-x1y2"  # a session's own upload, even inside an allowed folder
    (upload / "cats").mkdir(parents=True)
    assert links.page_params("views/own_images.py", {"own_folder": str(upload)}) == {}
    assert links.page_params("views/own_images.py", {"own_folder": str(tmp_path / "elsewhere")}) == {}
    for text in (str(upload), str(tmp_path), "/etc", "../../etc", str(tmp_path / "class" / "missing")):
        state: dict = {}
        _, notes, _ = links.restore_page("views/own_images.py", {"folder": text}, state)
        assert len(notes) == 1 and notes[0].startswith("folder=") and "own_folder" not in state, text
    monkeypatch.delenv("AECORE_IMAGE_ROOTS")
    _, notes, _ = links.restore_page("views/own_images.py", {"folder": str(upload)}, {})
    assert notes == [f"folder={str(upload)!r}: reading folders on the server is off here"]


@pytest.mark.parametrize(("path", "params", "shown"), [
    ("views/sweep.py", {"data": "imagenet", "base": "vae;drop", "run_epochs": "999", "vary": "latent",
                        "vary2": "lr:fast", "stopping": "maybe"},
     {"sweep_dataset": "mnist", "sweep_preset": "ae", "sweep_epochs": 3, "sweep_axis_0": "latent",
      "sweep_axis_1": "noise", "sweep_stopping": "auto"}),
    ("views/slow_motion.py", {"rate": "3"}, {"slowmo_rate": 1.0}),
    ("views/slow_motion.py", {"rate": "fast"}, {"slowmo_rate": 1.0}),
])
def test_garbage_in_a_sweep_or_slow_motion_link_falls_back_to_the_defaults_with_a_note(path, params, shown):
    at = _open(path, params)
    assert not at.exception and not at.error
    notes = _toasts(at)
    assert all(f"{param}=" in notes for param in params), notes
    assert {key: at.session_state[key] for key in shown} == shown
    assert dict(at.query_params) == {}


def test_garbage_in_a_your_images_link_is_noted_and_the_defaults_kept():
    params = {"size": "65", "colour": "blue", "code": "0", "test_share": "0.33", "kind": "gan", "train_epochs": "-1",
              "map": "pcaa", "folder": "/etc"}
    state: dict = {}
    _, notes, _ = links.restore_page("views/own_images.py", params, state)
    assert [note.split("=")[0] for note in notes] == ["folder", *list(params)[:-1]]  # in the links' order
    assert state == {}
    at = _open("views/own_images.py", params)
    assert not at.exception and all(f"{param}=" in _toasts(at) for param in params)


def test_sweep_keeps_its_form_in_the_link():
    at = _open("views/sweep.py")
    at.selectbox(key="sweep_dataset").select("digits").run()
    at.number_input(key="sweep_epochs").set_value(2).run()
    at.selectbox(key="sweep_axis_0").select("lr").run()
    at.text_input(key="sweep_values_lr").set_value("0.01,0.003").run()
    at.selectbox(key="sweep_axis_1").select("(nothing)").run()
    at.radio(key="sweep_stopping").set_value("off").run()
    assert dict(at.query_params) == {"data": "digits", "run_epochs": "2", "vary": "lr:0.01,0.003", "vary2": "none",
                                     "stopping": "off"}
    fresh = _reopen(at, "views/sweep.py")
    assert fresh.selectbox(key="sweep_dataset").value == "digits" and fresh.number_input(key="sweep_epochs").value == 2
    assert fresh.selectbox(key="sweep_axis_0").value == "lr"
    assert fresh.selectbox(key="sweep_axis_1").value == "(nothing)"
    assert fresh.text_input(key="sweep_values_lr").value == "0.01,0.003"
    assert fresh.radio(key="sweep_stopping").value == "off" and fresh.metric[0].value == "2"
    fresh.selectbox(key="sweep_axis_0").select("sparsity_beta").run()  # a setting with no values of its own yet
    assert fresh.text_input(key="sweep_values_sparsity_beta").value == composite_state.default_values("sparsity_beta")


def test_slow_motion_keeps_its_rate_in_the_link():
    at = _open("views/slow_motion.py")
    at.select_slider(key=RATE_KEY).set_value(2.0).run()  # the page's own key: the one the link reads and writes
    assert at.query_params["rate"] == "2"
    assert _reopen(at, "views/slow_motion.py").select_slider(key=RATE_KEY).value == 2.0


def test_your_images_opens_a_server_folder_link_with_its_controls(tmp_path, monkeypatch):
    folder = tmp_path / "class" / "shapes"
    rng = np.random.default_rng(0)
    for name in ("dots", "bars"):
        (folder / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(folder / name / f"{i}.png")
    monkeypatch.setenv("AECORE_IMAGE_ROOTS", str(tmp_path / "class"))
    monkeypatch.setenv(image_stream.CACHE_DIR_ENV, str(tmp_path / "cache"))
    params = {"folder": str(folder.resolve()), "size": "32", "colour": "grey", "code": "8", "test_share": "0.25",
              "kind": "conv-vae", "train_epochs": "3"}
    at = _open("views/own_images.py", params)
    assert not at.exception and not _toasts(at)
    assert (at.session_state[FOLDER_KEY], at.session_state[REPORT_KEY]) == (str(folder.resolve()), [])
    assert at.select_slider(key="own_size").value == 32 and at.radio(key="own_colour").value == "grey"
    assert at.select_slider(key="own_latent").value == 8 and at.slider(key="own_split").value == 0.25
    assert at.radio(key="own_model").value == "conv-vae" and at.number_input(key="own_epochs").value == 3
    assert dict(at.query_params) == params
