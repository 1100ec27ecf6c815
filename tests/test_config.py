"""Configs validate every field with a message that names it, and round-trip through JSON."""

import json

import pytest

from aecore.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from aecore.errors import ConfigError
from aecore.presets import get_preset, list_presets, preset_config


@pytest.mark.parametrize(("factory", "field_name"), [
    (lambda: ModelConfig(latent_dim=0), "model.latent_dim"),
    (lambda: ModelConfig(arch=""), "model.arch"),
    (lambda: ModelConfig(activation="swish"), "model.activation"),
    (lambda: ModelConfig(arch="conv", hidden=()), "model.hidden"),
    (lambda: ModelConfig(variational=True, code_activation="sigmoid"), "model.code_activation"),
    (lambda: ObjectiveConfig(noise_factor=-0.1), "objective.noise_factor"),
    (lambda: ObjectiveConfig(noise_factor=1.5), "objective.noise_factor"),
    (lambda: ObjectiveConfig(sparsity_rho=1.0), "objective.sparsity_rho"),
    (lambda: ObjectiveConfig(reconstruction="l2"), "objective.reconstruction"),
    (lambda: TrainConfig(lr=0), "train.lr"),
    (lambda: TrainConfig(epochs=2.5), "train.epochs"),
    (lambda: TrainConfig(optimizer="lbfgs"), "train.optimizer"),
    (lambda: TrainConfig(device="tpu"), "train.device"),
    (lambda: DataConfig(fraction=0), "data.fraction"),
    (lambda: DataConfig(val_fraction=0.95), "data.val_fraction"),
    (lambda: DataConfig(name=""), "data.name"),
])
def test_bad_values_are_rejected_naming_the_field(factory, field_name):
    with pytest.raises(ConfigError, match=field_name.replace(".", r"\.")):
        factory()


def test_inconsistent_combinations_are_rejected():
    with pytest.raises(ConfigError, match="sigmoid"):
        RunConfig(objective=ObjectiveConfig(sparsity="kl", sparsity_beta=1.0))
    with pytest.raises(ConfigError, match="bce"):
        RunConfig(model=ModelConfig(output_activation="linear"), objective=ObjectiveConfig(reconstruction="bce"))
    with pytest.raises(ConfigError, match="standard"):
        RunConfig(data=DataConfig(normalization="standard"))  # sigmoid output cannot reach z-scores


@pytest.mark.parametrize("preset", [p.name for p in list_presets()])
def test_every_preset_round_trips_through_json(preset):
    config = get_preset(preset).config
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_from_dict_rejects_unknown_fields():
    raw = RunConfig().to_dict()
    raw["model"]["latnet_dim"] = 3
    with pytest.raises(ConfigError, match="latnet_dim"):
        RunConfig.from_dict(raw)


def test_preset_for_own_images_demands_a_folder():
    with pytest.raises(ConfigError, match="folder:PATH"):
        preset_config("lecture-000-cae")
    assert preset_config("lecture-000-cae", dataset="folder:/tmp/x").data.name == "folder:/tmp/x"


def test_lecture_presets_match_their_lectures():
    lecture_003 = get_preset("lecture-003-ae").config
    assert lecture_003.model.hidden == (500, 300) and lecture_003.model.latent_dim == 2
    assert lecture_003.model.activation == "tanh" and lecture_003.model.init_std == 0.1
    assert (lecture_003.train.optimizer, lecture_003.train.lr, lecture_003.train.batch_size) == ("adam", 1e-4, 50)
    assert lecture_003.data.classes == (1, 5, 6)
    toy = get_preset("lecture-002-toy").config
    assert (toy.model.hidden, toy.model.latent_dim, toy.model.code_activation) == ((), 4, "sigmoid")
    assert (toy.objective.reconstruction, toy.train.optimizer, toy.train.lr, toy.train.momentum) == (
        "bce", "sgd", 0.1, 0.0)
    sparse_toy = get_preset("lecture-002-toy-sparse").config.objective
    assert (sparse_toy.sparsity, sparse_toy.sparsity_beta, sparse_toy.sparsity_rho) == ("kl", 0.5, 0.1)
