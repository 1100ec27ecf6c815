"""fit(): the event stream, learning, stop/resume, divergence, the lecture 002 toy."""

import threading

import pytest
import torch

from aecore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from aecore.data import load_dataset
from aecore.events import CheckpointSaved, Epoch, Failed, Finished, Started, Step
from aecore.objectives import Objective
from aecore.presets import preset_config
from aecore.training import TrainingState, build_optimizer, evaluate, fit, resolve_device


@pytest.fixture(scope="module")
def digits():
    return load_dataset(DataConfig(name="digits"))


def _state(digits, **overrides) -> TrainingState:
    config = preset_config("ae", dataset="digits", latent=4, **overrides)
    return TrainingState.create(config, digits.input_shape, "cpu", class_names=digits.class_names)


def test_event_stream_has_the_documented_shape(digits):
    state = _state(digits, epochs=2, batch_size=256)
    events = list(fit(state, digits))
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    started = events[0]
    assert started.n_train == len(digits.train) and started.steps_per_epoch == -(-len(digits.train) // 256)
    assert started.device == "cpu" and "CPU" in started.device_name
    steps = [e for e in events if isinstance(e, Step)]
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert len(steps) == 2 * started.steps_per_epoch and [e.epoch for e in epochs] == [1, 2]
    assert steps[-1].step == state.step == 2 * started.steps_per_epoch
    assert set(steps[0].losses) == {"total", "reconstruction"}
    assert set(epochs[0].val) == {"total", "reconstruction"}  # digits has a validation split
    preview = epochs[-1].preview
    assert preview.train_inputs.shape == preview.train_recons.shape == (8, 1, 8, 8)
    assert preview.test_inputs.shape == (8, 1, 8, 8)
    assert 0 <= preview.test_recons.min() <= preview.test_recons.max() <= 1
    assert preview.codes.shape == (len(digits.test), 4) and preview.code_labels.shape == (len(digits.test),)
    assert not events[-1].stopped and events[-1].epoch == 2 == state.epoch
    assert [record["epoch"] for record in state.history] == [1, 2]


def test_preview_images_are_fixed_across_epochs(digits):
    previews = [e.preview for e in fit(_state(digits, epochs=2), digits)
                if isinstance(e, Step | Epoch) and e.preview is not None]
    first, second = previews[0], previews[-1]
    assert (first.train_inputs == second.train_inputs).all() and (first.test_labels == second.test_labels).all()
    assert not (first.train_recons == second.train_recons).all()  # the reconstructions move as it learns


def test_loss_falls_and_weights_change(digits):
    state = _state(digits, epochs=5)
    before = [p.detach().clone() for p in state.model.parameters()]
    objective = Objective(state.config.objective)
    start_loss = evaluate(state.model, objective, digits.test)["reconstruction"]
    list(fit(state, digits))
    end_loss = evaluate(state.model, objective, digits.test)["reconstruction"]
    assert end_loss < 0.6 * start_loss
    assert all(not torch.equal(a, b) for a, b in zip(before, state.model.parameters(), strict=True))


@pytest.mark.parametrize("preset", ["conv-vae", "sparse-ae", "denoising-ae"])
def test_other_objectives_learn_on_a_fixed_batch(preset):
    config = preset_config(preset, dataset="digits", epochs=30, batch_size=64, image_size=16 if "conv" in preset
                           else None)
    data = load_dataset(config.data)
    small = data.__class__(data.name, data.train.__class__(data.train.x[:64], data.train.y[:64]),
                           data.val, data.test, data.class_names)
    state = TrainingState.create(config, small.input_shape, "cpu")
    events = list(fit(state, small))
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert epochs[-1].train["reconstruction"] < 0.7 * epochs[0].train["reconstruction"]
    parts = set(epochs[-1].train)
    assert ("kl" in parts) == (preset == "conv-vae") and ("sparsity" in parts) == (preset == "sparse-ae")


def test_stop_then_resume_continues_the_same_model_and_optimizer(digits):
    state = _state(digits, epochs=3)
    stop = threading.Event()
    model, optimizer = state.model, state.optimizer
    events = []
    for event in fit(state, digits, stop=stop):
        events.append(event)
        if isinstance(event, Epoch) and event.epoch == 1:
            stop.set()
    assert isinstance(events[-1], Finished) and events[-1].stopped and state.epoch == 1
    steps_after_stop = state.step
    adam_steps = optimizer.state[next(iter(model.parameters()))]["step"].item()
    stop.clear()
    resumed = list(fit(state, digits, stop=stop))
    assert isinstance(resumed[0], Started) and resumed[0].start_epoch == 1
    assert [e.epoch for e in resumed if isinstance(e, Epoch)] == [2, 3]
    assert state.model is model and state.optimizer is optimizer
    assert optimizer.state[next(iter(model.parameters()))]["step"].item() > adam_steps  # same Adam moments
    assert state.step > steps_after_stop and not resumed[-1].stopped


def test_stop_before_the_first_step_trains_nothing(digits):
    state = _state(digits, epochs=2)
    before = [p.detach().clone() for p in state.model.parameters()]
    stop = threading.Event()
    stop.set()
    events = list(fit(state, digits, stop=stop))
    assert [type(e) for e in events] == [Started, Finished] and events[-1].stopped
    assert all(torch.equal(a, b) for a, b in zip(before, state.model.parameters(), strict=True))


def test_divergence_fails_cleanly_and_suggests_a_lower_learning_rate(digits):
    # sigmoid outputs saturate and ReLU codes die, but a linear autoencoder at lr 10 blows up
    config = RunConfig(data=DataConfig(name="digits"),
                       model=ModelConfig(hidden=(), latent_dim=4, output_activation="linear"),
                       train=TrainConfig(epochs=3, lr=10.0, optimizer="sgd"))
    state = TrainingState.create(config, digits.input_shape, "cpu")
    initial = {k: v.clone() for k, v in state.model.state_dict().items()}
    events = list(fit(state, digits))
    failed = events[-1]
    assert isinstance(failed, Failed) and not any(isinstance(e, Finished) for e in events)
    assert "diverged" in failed.message and "lower learning rate than 10 " in failed.message
    assert state.epoch == failed.epoch == 0
    # no good epoch yet: the weights are put back to where the epoch began
    assert all(torch.equal(initial[k], v) for k, v in state.model.state_dict().items())


def test_divergence_after_a_good_epoch_restores_that_epoch(digits):
    state = _state(digits, epochs=1)
    list(fit(state, digits))
    good = {k: v.clone() for k, v in state.model.state_dict().items()}
    for group in state.optimizer.param_groups:
        group["lr"] = 1e12
    events = list(fit(state, digits, epochs=2))
    assert isinstance(events[-1], Failed) and state.epoch == 1
    assert all(torch.equal(good[k], v) for k, v in state.model.state_dict().items())


def test_mismatched_data_shape_fails_with_a_message(digits):
    config = preset_config("ae", dataset="digits")
    state = TrainingState.create(config, (1, 28, 28), "cpu")
    events = list(fit(state, digits))
    assert len(events) == 1 and isinstance(events[0], Failed) and "1x8x8" in events[0].message


def test_seeded_runs_are_reproducible(digits):
    first, second = _state(digits, epochs=1), _state(digits, epochs=1)
    list(fit(first, digits))
    list(fit(second, digits))
    assert all(torch.equal(a, b) for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True))


def test_save_to_writes_a_checkpoint_event(digits, tmp_path):
    events = list(fit(_state(digits, epochs=1), digits, save_to=tmp_path / "run"))
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert len(saved) == 1 and (tmp_path / "run" / "model.safetensors").is_file()
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adadelta"])
def test_every_optimizer_is_available(digits, name):
    state = _state(digits, optimizer=name)
    optimizer = build_optimizer(state.model.parameters(), state.config.train)
    assert type(optimizer).__name__.lower() == name


def test_cuda_request_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.parametrize("preset", ["lecture-002-toy", "lecture-002-toy-sparse"])
def test_lecture_002_toy_reconstructs_all_five_patterns_exactly(preset):
    config = preset_config(preset)
    patterns = load_dataset(config.data)
    state = TrainingState.create(config, patterns.input_shape, "cpu")
    events = list(fit(state, patterns))
    assert isinstance(events[-1], Finished)
    state.model.eval()
    with torch.no_grad():
        out = state.model(patterns.train.x)
    assert torch.equal((out.recon > 0.5).float(), patterns.train.x)
    if preset.endswith("sparse"):
        assert out.code.mean().item() < 0.3  # rho = 0.1 pushes mean activations down


def test_previews_arrive_within_long_epochs_at_most_once_per_interval(digits, monkeypatch):
    import aecore.training as training

    monkeypatch.setattr(training, "PREVIEW_INTERVAL_S", 0.0)
    events = list(fit(_state(digits, epochs=1, batch_size=256), digits))
    steps = [e for e in events if isinstance(e, Step)]
    assert all(s.preview is not None for s in steps[:-1])  # the epoch's own event carries the last one
    assert steps[-1].preview is None
    monkeypatch.setattr(training, "PREVIEW_INTERVAL_S", 3600.0)
    events = list(fit(_state(digits, epochs=3, batch_size=256), digits))
    assert sum(e.preview is not None for e in events if isinstance(e, Step | Epoch)) == 2  # first and last


def test_greedy_layerwise_pretraining_runs_before_the_first_epoch_as_an_option(digits):
    config = preset_config("stacked-ae", dataset="digits", latent=8, epochs=1, layerwise_epochs=2)
    state = TrainingState.create(config, digits.input_shape, "cpu")
    events = list(fit(state, digits))
    started = events[0]
    assert len(started.layerwise_losses) == len(config.model.hidden) + 1
    assert isinstance(events[-1], Finished)
    with pytest.raises(ValueError, match="layerwise_epochs"):
        preset_config("vae", layerwise_epochs=2)
