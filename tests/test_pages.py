"""AppTest on the real app.py: every page renders (the one check of it in AppTest: opened by a new session,
drawn again, showing what its link leaves out, no Plotly figure on a page that skips the import wait); the
sidebar reaches the engine and persists across pages; Start/Stop/Resume/Save work; bad input is explained,
never raised; every widget has a key."""

import ast
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from aecore import checkpoints
from aecore.checkpoints import load_run
from aecore.ui import links
from aecore.ui.navigation import PAGES, TRAINING_PAGES
from aecore.ui.sidebar import Keys

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(autouse=True)
def user_runs(tmp_path, monkeypatch):
    """Runs saved by these tests go to a temporary folder, never into the project."""
    folder = tmp_path / "runs"
    monkeypatch.setattr(checkpoints, "USER_RUNS_DIR", folder)
    return folder


WIDGETS = {"button", "checkbox", "color_picker", "data_editor", "date_input", "download_button", "file_uploader",
           "form_submit_button", "multiselect", "number_input", "pills", "radio", "segmented_control", "select_slider",
           "selectbox", "slider", "text_area", "text_input", "time_input", "toggle"}


def test_every_widget_of_the_pages_has_an_explicit_key():
    """Widgets are found by key (by tests, session state and other pages), never by their place on a page."""
    keyless = []
    for path in sorted([*(ROOT / "views").glob("*.py"), *(ROOT / "aecore" / "ui").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WIDGETS
                    and not any(keyword.arg in ("key", None) for keyword in node.keywords)):  # None: **settings
                keyless.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    assert keyless == []


def _page(path: str) -> AppTest:
    """The app (app.py, with its sidebar) opened on one of its pages."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    if path != "views/home.py":
        at.switch_page(path)
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [e.value for e in at.error]
    parts += [bar.proto.text for bar in at.get("progress")]
    return "\n".join(parts)


def test_the_app_starts_on_home_and_the_training_settings_persist_across_pages():
    at = _page("views/home.py").run()
    assert not at.exception
    assert at.title[0].value == "Autoencoder Lab"
    at.switch_page("views/train.py").run()
    at.slider(key=Keys.LATENT).set_value(9).run()
    for spec in PAGES:
        at.switch_page(spec.path).run()
        assert not at.exception, spec.path
        if spec.path in TRAINING_PAGES:
            assert at.slider(key=Keys.LATENT).value == 9, spec.path
    at.switch_page("views/train.py").run()
    assert at.slider(key=Keys.LATENT).value == 9


@pytest.mark.parametrize("spec", PAGES, ids=lambda spec: spec.title)
def test_every_page_renders_for_a_new_session_and_again(spec):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if not spec.default:
        at.switch_page(spec.path)
    at.run()  # a new session opening the page's link, with nothing in it
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    # what a link leaves out is what the page shows: drawn widgets with a declared default show it
    state = dict(at.session_state.items())
    shown = {link.param: (link.read(state), link.default) for link in links.PAGE_LINKS.get(spec.path, ())
             if link.default is not None and link.read(state) is not None}
    assert all(value == default for value, default in shown.values()), shown
    assert set(at.query_params) <= {"slerp", "test_noise", "other", "shape"}  # defaults that follow the model
    if not spec.draws_figures:  # app.py lets it run before the server's first imports end (aecore/ui/warm_up.py): a
        assert not at.get("plotly_chart")  # Plotly figure drawn then could meet a half-imported pandas
    at.run()  # and again, as after any click
    assert not at.exception


def test_home_shows_a_shipped_model_reconstructing_real_digits():
    at = _page("views/home.py").run()
    assert "Input → code → reconstruction" in [h.value for h in at.subheader]
    assert at.caption[0].value.startswith("mnist-ae-latent2 (shipped): eight test images")
    assert len(at.get("image")) == 16  # eight inputs and their eight reconstructions
    assert _texts(at).count("↓<br><code>") == 8  # each 2-number code written out


def test_home_draws_a_long_code_as_cells_so_that_the_strip_fits_a_projector():
    at = _page("views/home.py")
    at.selectbox(key="run_picker").select(checkpoints.PRETRAINED_DIR / "mnist-ae-latent32").run()
    assert not at.exception
    assert "the 32 numbers the encoder made of each (red positive, blue negative)" in at.caption[0].value
    assert len(at.get("image")) == 24  # inputs, codes as cells, reconstructions
    assert "<code>" not in _texts(at)


def test_choosing_a_preset_sets_the_sliders_and_the_sliders_set_the_next_run():
    at = _page("views/train.py").run()
    at.selectbox(key=Keys.PRESET).select("lecture-003-ae").run()
    assert at.slider(key=Keys.LATENT).value == 2
    assert at.select_slider(key=Keys.LR).value == 1e-4
    assert at.select_slider(key=Keys.BATCH_SIZE).value == 50
    at.slider(key=Keys.LATENT).set_value(7).run()
    assert "**lecture-003-ae** (MLP AE) on **mnist** · latent 7" in _texts(at)
    at.selectbox(key=Keys.PRESET).select("lecture-002-toy").run()
    assert at.selectbox(key=Keys.DATASET).value == "patterns-3x3" and at.slider(key=Keys.LATENT).value == 4


def _wait_for(at: AppTest, pattern: str, timeout: float = 90) -> AppTest:
    """Rerun until the page's text matches ``pattern`` (a regular expression), then once more so that the
    buttons, drawn before the live view, reflect the same state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if re.search(pattern, _texts(at)):
            return at.run()
        time.sleep(0.3)
    raise AssertionError(f"{pattern!r} never appeared; page said:\n{_texts(at)}")


def _press(at: AppTest, label: str) -> AppTest:
    button = next(b for b in at.button if b.label == label)
    assert not button.disabled, f"{label} is disabled"
    return button.click().run()


def _press_key(at: AppTest, key: str) -> AppTest:
    """Click the button with widget key ``key`` (it must be enabled) and rerun."""
    button = at.button(key=key)
    assert not button.disabled, f"{key} is disabled"
    return button.click().run()


def test_sliders_reach_the_engine_and_start_stop_resume_save_work(user_runs):
    at = _page("views/train.py").run()
    at.selectbox(key=Keys.DATASET).select("digits").run()
    at.slider(key=Keys.LATENT).set_value(3).run()
    at.slider(key=Keys.NOISE).set_value(0.3).run()
    at.slider(key=Keys.SPARSITY_BETA).set_value(0.5).run()
    at.number_input(key=Keys.EPOCHS).set_value(5000).run()
    _press_key(at, "train_start")
    _wait_for(at, re.escape("This run: **ae** (MLP AE) on **digits** · latent 3 · noise 0.3 (gaussian) · "
                            "sparsity β 0.5"))
    _wait_for(at, r"Epoch [2-9]\d* of 5000")  # at least one epoch done: something to save
    assert not at.info  # the device shares the progress line while it trains: no box above the charts
    assert not any(m.value.startswith("Next run") for m in at.markdown)  # "This run" says it: a line less
    at.slider(key=Keys.LATENT).set_value(4).run()
    assert any(m.value.startswith("Next run") and "latent 4" in m.value for m in at.markdown)  # not the same now
    at.slider(key=Keys.LATENT).set_value(3).run()
    assert "Training on CPU" in at.get("progress")[0].proto.text
    assert not at.exception
    _press_key(at, "train_stop")
    _wait_for(at, r"Stopped (after [1-9]\d* epochs?|in epoch [1-9])")
    _press_key(at, "train_resume")
    _wait_for(at, "Training on CPU")
    _press_key(at, "train_stop")
    _wait_for(at, r"Stopped (after [1-9]\d* epochs?|in epoch [1-9])")
    at.text_input(key="train_save_name").set_value("apptest-run")
    _press_key(at, "train_save_submit")
    assert "Saved: pick **apptest-run**" in _texts(at)
    saved = load_run(user_runs / "apptest-run")
    assert saved.config.model.latent_dim == 3 and saved.config.objective.noise_factor == 0.3
    assert saved.config.objective.sparsity == "l1" and saved.config.objective.sparsity_beta == 0.5
    assert saved.epochs >= 1


def test_an_impossible_combination_is_explained_not_raised():
    at = _page("views/train.py").run()
    at.selectbox(key=Keys.PRESET).select("conv-ae").run()
    at.selectbox(key=Keys.DATASET).select("patterns-3x3").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    assert any("too small" in e.value for e in at.error)


def test_a_folder_dataset_without_a_path_asks_for_one():
    at = _page("views/train.py").run()
    at.selectbox(key=Keys.DATASET).select("your image folder…").run()
    assert any("Type the path of an image folder" in e.value for e in at.error)
    assert at.button(key="train_start").disabled


def test_continuing_a_run_folder_that_does_not_match_shows_a_message(user_runs):
    import json
    import shutil

    from aecore.checkpoints import PRETRAINED_DIR
    from aecore.ui.widgets import SELECTED_RUN

    broken = user_runs / "broken-run"
    shutil.copytree(PRETRAINED_DIR / "mnist-ae-latent2", broken)
    raw = json.loads((broken / "config.json").read_text())
    raw["run"]["model"]["latent_dim"] = 5  # the weights are for a 2-d code
    (broken / "config.json").write_text(json.dumps(raw))
    at = _page("views/train.py")
    at.session_state[SELECTED_RUN] = str(broken)
    at.run()
    at.button(key="train_load").click().run()
    assert not at.exception
    assert any("model.safetensors does not match config.json" in e.value for e in at.error)


def _click(at: AppTest, x: float, y: float, curve: int = 0, index: int = 0) -> AppTest:
    at.session_state["explore_map"] = {"selection": {
        "points": [{"curve_number": curve, "point_number": index, "point_index": index, "x": x, "y": y}],
        "point_indices": [index], "box": [], "lasso": []}}
    return at.run()


def _first_image(at: AppTest):
    return at.get("image")[0].proto.imgs[0].url


def test_clicking_empty_space_on_the_map_decodes_that_spot():
    at = _page("views/explore.py").run()
    assert not at.exception
    assert any("Click anywhere" in i.value for i in at.info)
    _click(at, -4.0, 20.0)  # a spot of the invisible grid (curve 0): no data point needed
    assert not at.exception
    captions = [c.proto.imgs[0].caption for c in at.get("image") if c.proto.imgs and c.proto.imgs[0].caption]
    assert any("decoded at (-4.00, 20.00)" in caption for caption in captions)
    first = _first_image(at)
    _click(at, 10.0, 0.0)
    assert _first_image(at) != first  # another spot decodes to another image
    assert any("nearest first" in (c.proto.imgs[0].caption or "") for c in at.get("image") if c.proto.imgs)


def test_a_box_selection_shows_the_selected_images():
    at = _page("views/explore.py").run()
    at.session_state["explore_map"] = {"selection": {
        "points": [{"curve_number": 1, "point_number": i, "point_index": i, "x": 0.0, "y": 0.0} for i in range(5)]
        + [{"curve_number": 0, "point_number": 7, "point_index": 7, "x": 0.0, "y": 0.0}],
        "point_indices": list(range(5)), "box": [{"xref": "x", "yref": "y", "x": [-1, 1], "y": [-1, 1]}],
        "lasso": []}}
    at.run()
    assert not at.exception
    assert "5 selected images" in [h.value for h in at.subheader]


def _image_urls(at: AppTest) -> list[str]:
    return [element.proto.imgs[0].url for element in at.get("image") if element.proto.imgs]


def test_the_mix_slider_and_the_endpoints_change_the_decoded_images():
    at = _page("views/interpolate.py").run()
    assert not at.exception
    before = _image_urls(at)
    at.slider(key="interp_alpha").set_value(0.0).run()
    at_start = _image_urls(at)
    at.slider(key="interp_alpha").set_value(1.0).run()
    at_end = _image_urls(at)
    assert at_start != at_end and before != at_start
    at.selectbox(key="interp_b_class").select(3).run()
    assert _image_urls(at) != at_end  # another end image, another path
    assert not at.exception


def test_generation_differs_between_seeds_and_for_a_vae_uses_the_prior():
    at = _page("views/interpolate.py").run()
    at.selectbox(key="run_picker").select_index(
        [str(option) for option in at.selectbox(key="run_picker").options].index(
            next(o for o in at.selectbox(key="run_picker").options if "mnist-vae-latent2" in str(o)))).run()
    assert not at.exception
    assert any("drawn from the prior" in (e.proto.imgs[0].caption or "") for e in at.get("image") if e.proto.imgs)
    first = _image_urls(at)[-1]
    at.number_input(key="gen_seed").set_value(1).run()
    assert _image_urls(at)[-1] != first


def _canvas_state(ink: np.ndarray) -> dict:
    """The drawable canvas's widget value for a drawing (as the component sends it)."""
    import base64
    import io

    from PIL import Image

    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., :3] = (ink * 255).astype(np.uint8)[..., None]
    rgba[..., 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"drawing": {"raw": {"version": "7.0.0", "objects": []}, "data": url}, "backgroundFit": None}


def test_a_drawn_digit_is_reconstructed_scored_and_placed():
    at = _page("views/draw.py").run()
    assert not at.exception
    assert any("Draw a digit on the black square" in i.value for i in at.info)
    ink = np.zeros((280, 280), dtype=np.float32)
    ink[40:240, 130:150] = 1.0  # a "1"
    at.session_state["digit_canvas"] = _canvas_state(ink)
    at.run()
    assert not at.exception
    captions = [e.proto.imgs[0].caption for e in at.get("image") if e.proto.imgs]
    assert "its reconstruction" in captions and "its nearest training images in latent space" in captions
    assert [m.label for m in at.metric] == ["Reconstruction error", "Worse than"]
    assert 0.0 <= float(at.metric[1].value.rstrip(" %")) <= 100.0


def test_a_point_picked_on_the_map_becomes_an_interpolation_end():
    at = _page("views/explore.py").run()
    _click(at, 0.0, 0.0, curve=1, index=3)  # a data point: row 3 of the map's sample
    picked = next(c.proto.imgs[0].caption for c in at.get("image") if c.proto.imgs and
                  (c.proto.imgs[0].caption or "").startswith("test image "))
    at.button(key="explore_interpolate_end").click().run()
    at.switch_page("views/interpolate.py").run()
    assert not at.exception and not at.warning
    assert f"test #{picked.removeprefix('test image ')}" in [
        c.proto.imgs[0].caption for c in at.get("image") if c.proto.imgs]


def test_a_vae_offers_its_prior_grid_with_a_download():
    at = _page("views/explore.py").run()
    options = at.selectbox(key="run_picker").options
    vae = next(i for i, option in enumerate(options) if "mnist-vae-latent2" in option)
    at.selectbox(key="run_picker").select_index(vae).run()
    assert not at.exception
    assert any("quantiles" in (e.proto.imgs[0].caption or "") for e in at.get("image") if e.proto.imgs)
    assert any(button.proto.label == "PNG of this grid" for button in at.get("download_button"))


def test_probes_show_an_accuracy_and_compare_few_labels():
    at = _page("views/probes.py").run()
    assert not at.exception
    accuracy = float(at.metric[0].value.rstrip("%")) / 100
    assert 0.5 < accuracy <= 1.0  # even a 2-number MNIST code is far better than chance (10 %)
    at.select_slider(key="probe_k").set_value(1).run()
    at.button(key="probe_compare").click().run()
    assert not at.exception
    assert at.session_state["probe_result"][1] == 1
    assert set(at.session_state["probe_result"][2]) == {"pre-trained code, frozen", "pre-trained, fine-tuned",
                                                        "from scratch"}


def test_every_lecture_lab_runs_with_one_click():
    at = _page("views/labs.py").run()
    assert not at.exception
    for key in ("lab_toy", "lab_random", "lab_two_d", "lab_denoising"):
        at.button(key=key).click().run()
        assert not at.exception, key
    texts = _texts(at)
    assert texts.count("all five exact: **yes**") == 2
    assert [m.label for m in at.metric] == ["Mean hidden activation"] * 3
    undercomplete, overcomplete, sparse = (float(m.value) for m in at.metric)
    assert sparse < overcomplete  # the KL penalty keeps the 144 units quieter
    captions = [e.proto.imgs[0].caption for e in at.get("image") if e.proto.imgs]
    assert "the 20x20 manifold over the plane" in captions
    assert "30 % of pixels dropped, denoised, original" in captions


def _select_run(at: AppTest, name: str) -> AppTest:
    options = at.selectbox(key="run_picker").options
    return at.selectbox(key="run_picker").select_index(next(i for i, o in enumerate(options) if name in o)).run()


def test_inside_shows_vae_diagnostics_and_the_lecture_000_layer_exercise():
    at = _page("views/inside.py").run()
    assert not at.exception and any("Encoder, first layer" in m.value for m in at.markdown)  # Weights, open first
    assert not any("Traversals" in m.value for m in at.markdown)  # a closed tab is not drawn
    at.session_state["inside_tab"] = "Activations"
    assert "mnist-sparse-ae" in str(at.run().selectbox(key="inside_compare").value)  # without vs with sparsity
    at.number_input(key="inside_first").set_value(8).run()
    assert not at.exception
    at.session_state["inside_tab"] = "VAE"
    _select_run(at, "mnist-conv-vae")
    assert not at.exception
    assert at.success or at.warning  # every dimension informative, or the collapse warning
    assert any("Traversals" in m.value for m in at.markdown)
    at.session_state["inside_tab"] = "Layer shapes"
    at.run().selectbox(key="layers_source").select("lecture-000-cae").run()
    at.text_input(key="layers_shape_lecture-000-cae").set_value("3x224x224").run()
    assert any("size after flatten: **1,024**" in m.value for m in at.markdown)
    # the shapes' flow, above the table: the decoder gives the 224x224 image back
    assert any(m.value.startswith("224x224x3 → 112x112x32 → ")
               and m.value.endswith(" → 28x28x128 → 56x56x64 → 112x112x32 → 224x224x3") for m in at.markdown)
    assert not any("cannot be trained at this size" in w.value for w in at.warning)
    at.text_input(key="layers_shape_lecture-000-cae").set_value("224x224").run()
    assert not at.exception and any("CxHxW" in e.value for e in at.error)


def test_the_denoising_lab_measures_psnr_and_fills_the_matrix():
    at = _page("views/denoise.py").run()
    _select_run(at, "mnist-denoising-ae")
    assert not at.exception
    noisy, denoised = (float(m.value.removesuffix(" dB")) for m in at.metric)
    assert denoised > noisy  # a denoising autoencoder cleans noise of the kind it was trained on


def _faces_zip() -> bytes:
    """A tiny labelled set: 'happy' bright and 'angry' dark 20x20 images, plus a bad file."""
    import io
    import zipfile

    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, level in (("happy", 220), ("angry", 40)):
            for i in range(6):
                image = io.BytesIO()
                Image.new("RGB", (20, 20), (level, level - i * 5, 30)).save(image, format="PNG")
                archive.writestr(f"faces/{label}/{i}.png", image.getvalue())
        archive.writestr("faces/happy/broken.png", b"not an image")
    return buffer.getvalue()


def test_own_images_upload_train_map_and_export():
    at = _page("views/own_images.py").run()
    assert not at.exception
    at.file_uploader(key="own_files").set_value([("faces.zip", _faces_zip(), "application/zip")]).run()
    next(b for b in at.button if b.label == "Use these images").click().run()
    assert not at.exception
    assert "**angry**: 6 images · **happy**: 6 images" in _texts(at)
    assert any("1 file skipped" in e.proto.label for e in at.expander)
    at.select_slider(key="own_size").set_value(32).run()
    at.number_input(key="own_epochs").set_value(2).run()
    _press(at, "Train on these images")
    _wait_for(at, r"Finished 2 epochs")
    assert not at.exception
    assert any(b.proto.label == "Download codes and map as CSV" for b in at.get("download_button"))


def test_the_servers_warm_up_computes_what_a_first_look_at_explore_and_a_click_on_its_map_need(monkeypatch):
    from aecore.ui import cache

    calls = []
    for name in ("encode_map_points", "manifold_image", "encode_sample"):
        original = getattr(cache, name)
        monkeypatch.setattr(cache, name, lambda *args, _f=original, _name=name, **kwargs: (
            calls.append(_name), _f(*args, **kwargs))[1])
    for cached in (cache.map_points, cache.decoded_grid_png, cache.training_bank):
        cached.clear()
    cache.warm_up_default_explore()
    assert sorted(calls) == ["encode_map_points", "encode_sample", "manifold_image"]
    at = _page("views/explore.py").run()
    _click(at, 0.5, 0.5, curve=1, index=3)  # a data point: its neighbours among the training codes
    assert not at.exception and any("nearest first" in (c.proto.imgs[0].caption or "") for c in at.get("image")
                                     if c.proto.imgs)
    assert len(calls) == 3  # the page found all three in the shared caches
