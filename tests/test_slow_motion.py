"""Slow motion: one optimiser step at a time, as fit() takes them, with a snapshot after each; and its page."""

import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from aecore.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from aecore.errors import AecoreError
from aecore.events import Step
from aecore.slow_motion import Pacer, SlowMotion, map_bounds, spread_indices
from aecore.training import TrainingState, fit
from aecore.ui import slow_motion_view as view
from aecore.ui.sidebar import SidebarChoice

ROOT = Path(__file__).resolve().parent.parent
PAGE = "views/slow_motion.py"


def _config(model: ModelConfig | None = None, objective: ObjectiveConfig | None = None, **train) -> RunConfig:
    return RunConfig(data=DataConfig(name="digits"), model=model or ModelConfig(hidden=(32,), latent_dim=4),
                     objective=objective or ObjectiveConfig(),
                     train=TrainConfig(**{"batch_size": 64, "lr": 1e-2, "device": "cpu", **train}))


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_a_step_changes_the_weights_and_fifty_lower_the_batch_loss(digits):
    motion = SlowMotion(_config(), digits, map_points=200)
    before = _weights(motion.model)
    first = motion.step()
    assert first.step == 1 and (first.epoch, first.batch) == (1, 1)
    assert any(not torch.equal(a, b) for a, b in zip(before, motion.model.parameters(), strict=True))
    losses = [first.losses["total"]] + [motion.step().losses["total"] for _ in range(49)]
    assert motion.step_count == 50
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert motion.latest.recons.shape == (8, *digits.input_shape)
    assert motion.latest.recons.min() >= 0 and motion.latest.recons.max() <= 1


def test_slow_motion_takes_the_steps_fit_takes(digits):
    """Same batches, same objective (here with training noise), same noise: the same weights after 6 steps."""
    config = _config(objective=ObjectiveConfig(noise="gaussian", noise_factor=0.3), batch_size=500)
    motion = SlowMotion(config, digits)
    for _ in range(6):  # 3 batches an epoch: crosses into the second epoch's order
        motion.step()
    state = TrainingState.create(config, digits.input_shape, "cpu")
    stop = threading.Event()
    for event in fit(state, digits, stop=stop):
        if isinstance(event, Step) and event.step == 6:
            stop.set()
    assert state.step == 6 and motion.epoch == 2
    for ours, theirs in zip(motion.model.parameters(), state.model.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs)


def test_each_layer_with_weights_has_a_finite_positive_gradient_norm(digits):
    motion = SlowMotion(_config(model=ModelConfig(hidden=(32, 16), latent_dim=3)), digits)
    assert motion.latest.step == 0 and motion.latest.losses == {} and len(motion.latest.gradient_norms) == 0
    snapshot = motion.step()
    layers = [m for m in motion.model.modules() if any(True for _ in m.parameters(recurse=False))]
    assert len(motion.layer_names) == len(layers) == len(snapshot.gradient_norms) == 6  # 3 Linear each way
    assert motion.layer_names[0] == "enc 64→32" and motion.layer_names[2] == "code 16→3"
    assert np.all(np.isfinite(snapshot.gradient_norms)) and np.all(snapshot.gradient_norms > 0)


def test_at_most_keep_snapshots_are_kept_and_older_ones_are_found(digits):
    motion = SlowMotion(_config(), digits, keep=5, map_points=100)
    for _ in range(7):
        motion.step()
    assert [s.step for s in motion.snapshots] == [3, 4, 5, 6, 7]
    assert motion.snapshot_at(4).step == 4 and motion.snapshot_at(4).losses != motion.snapshot_at(7).losses
    with pytest.raises(KeyError, match="step 2"):
        motion.snapshot_at(2)


def test_the_pca_map_stays_on_one_plane_until_refitted(digits):
    motion = SlowMotion(_config(model=ModelConfig(hidden=(32,), latent_dim=6)), digits, map_points=300)
    motion.step()
    motion.step()
    assert motion.latest.points.shape == (300, 2) and motion.axis_labels == ("PC 1", "PC 2")
    assert {s.map_fitted_at for s in motion.snapshots} == {0}
    motion.refit_map()
    assert motion.latest.map_fitted_at == 2 and motion.snapshot_at(1).map_fitted_at == 0
    x0, x1, y0, y1 = map_bounds(motion.snapshots)
    assert x0 < x1 and y0 < y1


@pytest.mark.parametrize("model, objective", [
    (ModelConfig(hidden=(32,), latent_dim=2, variational=True), ObjectiveConfig(reconstruction="bce")),
    (ModelConfig(hidden=(), latent_dim=20, code_activation="sigmoid"),
     ObjectiveConfig(reconstruction="bce", sparsity="kl", sparsity_beta=0.5, sparsity_rho=0.05)),
], ids=["vae", "sparse"])
def test_a_vae_and_a_sparse_autoencoder_step_with_their_loss_parts(digits, model, objective):
    motion = SlowMotion(_config(model=model, objective=objective), digits, map_points=100)
    snapshot = motion.step()
    extra = "kl" if model.variational else "sparsity"
    assert {"total", "reconstruction", extra} <= set(snapshot.losses)
    assert np.all(np.isfinite(snapshot.gradient_norms)) and snapshot.points.shape == (100, 2)


def test_a_diverging_step_is_refused_with_a_hint_and_keeps_the_weights(digits):
    motion = SlowMotion(_config(), digits)
    with torch.no_grad():
        motion.model.to_code.weight.fill_(float("nan"))
    before = _weights(motion.model)
    with pytest.raises(AecoreError, match="lower learning rate"):
        motion.step()
    assert motion.step_count == 0 and len(motion.snapshots) == 1
    for earlier, now in zip(before, motion.model.parameters(), strict=True):
        torch.testing.assert_close(earlier, now.detach(), equal_nan=True)


def test_fixed_images_take_the_classes_in_turn():
    labels = np.array([3, 3, 1, 1, 2, 3])
    assert spread_indices(labels, 4).tolist() == [2, 4, 0, 3]
    assert spread_indices(labels, 10).tolist() == [2, 4, 0, 3, 1, 5]


def test_the_pacer_shares_the_server_steps_among_the_players():
    pacer = Pacer(steps_per_s=10, timeout_s=10)
    assert pacer.interval("teacher", 4.0, now=0.0) == 0.25  # alone: the chosen rate
    for student in range(29):
        pacer.interval(student, 2.0, now=1.0)
    assert pacer.interval("teacher", 4.0, now=2.0) == 3.0  # 30 players share 10 steps a second
    pacer.leave("teacher")
    assert pacer.players == 29
    assert pacer.interval("late", 1.0, now=20.0) == 1.0  # the others went quiet and no longer count
    assert pacer.players == 1


@pytest.fixture
def page(monkeypatch):
    """The app opened on Slow motion, its sidebar's settings replaced by a small digits model (fast)."""
    monkeypatch.setattr(view, "current_config", lambda: SidebarChoice(_config(), None))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def _heading(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("##### Showing step"))


def test_the_page_steps_and_looks_back(page):
    at = page
    assert _heading(at).startswith("##### Showing step 0 (the latest)")
    assert at.button(key="slowmo_back").disabled
    for _ in range(3):
        at.button(key="slowmo_step").click().run()
    assert not at.exception
    assert _heading(at).startswith("##### Showing step 3 (the latest) · epoch 1, batch 3 of")
    assert len(at.session_state[view.ENGINE_KEY].snapshots) == 4
    assert at.metric[0].label.startswith("Batch loss")
    at.button(key="slowmo_back").click().run()
    at.button(key="slowmo_back").click().run()
    assert "Showing step 1 (**2 steps back** from the latest)" in _heading(at)
    at.select_slider(key=view.VIEW_KEY).set_value(2).run()
    assert "Showing step 2 (**1 step back**" in _heading(at)
    at.button(key="slowmo_forward").click().run()
    assert _heading(at).startswith("##### Showing step 3 (the latest)")
    assert at.button(key="slowmo_forward").disabled
    at.button(key="slowmo_reset").click().run()
    assert not at.exception and _heading(at).startswith("##### Showing step 0")


def test_new_sidebar_settings_build_a_fresh_model(page, monkeypatch):
    at = page
    at.button(key="slowmo_step").click().run()
    monkeypatch.setattr(view, "current_config", lambda: SidebarChoice(_config(lr=1e-3), None))
    at.run()
    motion = at.session_state[view.ENGINE_KEY]
    assert motion.config.train.lr == 1e-3 and motion.step_count == 0
    monkeypatch.setattr(view, "current_config", lambda: SidebarChoice(None, "Type the path of an image folder"))
    at.run()
    assert not at.exception and "image folder" in at.error[0].value


def test_play_steps_on_each_fragment_run_and_pauses_on_its_own(page, monkeypatch):
    at = page
    monkeypatch.setattr(view, "PLAY_LIMIT", 2)
    at.button(key="slowmo_play").click().run()  # the run after the click takes the first step
    assert at.button(key="slowmo_step").disabled
    at.session_state[view.ENGINE_KEY].last_step_at = -math.inf  # as if 1/rate seconds went by before the timer
    at.run()
    assert not at.exception
    assert at.session_state[view.ENGINE_KEY].step_count == 2
    assert not at.session_state[view.PLAYING_KEY] and not at.button(key="slowmo_step").disabled
