"""The settings table: every entry maps onto a config field, reads back what it writes, parses what it
formats, refuses garbage with one line, and the knobs the lectures turn reach the model."""

import pytest
import torch
from torch import nn

from aecore.config import RunConfig
from aecore.errors import ConfigError
from aecore.models import build_model
from aecore.presets import get_preset, list_presets, preset_config
from aecore.settings import BY_NAME, SETTINGS, apply_overrides, get_setting, parse_setting, values_of

PRESETS = [preset.name for preset in list_presets()]


@pytest.mark.parametrize("preset", PRESETS)
def test_a_preset_given_its_own_values_is_unchanged(preset):
    config = get_preset(preset).config
    assert apply_overrides(config, **values_of(config)) == config


@pytest.mark.parametrize("preset", PRESETS)
def test_every_value_of_every_preset_parses_back_from_its_text(preset):
    for name, value in values_of(get_preset(preset).config).items():
        setting = BY_NAME[name]
        assert setting.parse(setting.format(value)) == value, name


def test_each_setting_sets_its_own_field_and_no_other():
    base = get_preset("lecture-001-denoising").config
    for setting in SETTINGS:
        value = {int: 3, float: 0.25, tuple: (1, 2)}.get(setting.kind)
        if setting.kind is str:
            value = next(choice for choice in setting.choices or ("digits",) if choice != setting.read(base))
        changed = apply_overrides(base, **{setting.name: value}).to_dict()
        expected = base.to_dict()
        expected[setting.section][setting.field] = value
        if setting.name == "sparsity_beta":
            expected["objective"]["sparsity"] = "l1"  # a beta on a run without a penalty turns one on
        assert changed == expected, setting.name


def test_a_noise_factor_turns_on_gaussian_noise_and_a_sparsity_beta_a_penalty():
    config = apply_overrides(RunConfig(), latent=7, noise=0.3, sparsity_beta=2.0, epochs=3, dataset="digits")
    assert config.model.latent_dim == 7 and config.train.epochs == 3 and config.data.name == "digits"
    assert (config.objective.noise, config.objective.noise_factor) == ("gaussian", 0.3)
    assert (config.objective.sparsity, config.objective.sparsity_beta) == ("l1", 2.0)  # linear codes: L1
    sigmoid_codes = get_preset("lecture-002-undercomplete").config
    assert apply_overrides(sigmoid_codes, sparsity_beta=1.0).objective.sparsity == "kl"
    assert apply_overrides(RunConfig(), noise=0.3, noise_kind="masking").objective.noise == "masking"
    assert apply_overrides(RunConfig(), noise=0.3, noise_kind="none").objective.noise == "none"  # said explicitly


def test_none_keeps_the_preset_value_and_bad_values_are_refused():
    base = get_preset("sparse-ae").config
    config = apply_overrides(base, latent=None, sparsity_beta=1.0)
    assert config.model.latent_dim == base.model.latent_dim
    assert config.objective.sparsity == "kl"  # the preset's own kind is kept
    with pytest.raises(ConfigError, match="latent_dim"):
        apply_overrides(base, latent=-1)
    with pytest.raises(ConfigError, match="unknown setting 'latnet'"):
        apply_overrides(base, latnet=3)
    with pytest.raises(ConfigError, match="unknown setting"):
        get_setting("latnet")


def test_the_new_knobs_reach_the_run_config():
    config = preset_config("ae", activation="tanh", init_std=0.1, classes=(1, 5, 6), noise_kind="masking",
                           noise=0.2)
    assert (config.model.activation, config.model.init_std) == ("tanh", 0.1)
    assert config.data.classes == (1, 5, 6)
    assert (config.objective.noise, config.objective.noise_factor) == ("masking", 0.2)


def test_the_words_for_none_clear_a_preset_value():
    lecture_003 = preset_config("lecture-003-ae", classes=parse_setting("classes", "all"),
                                init_std=parse_setting("init_std", "default"))
    assert lecture_003.data.classes is None and lecture_003.model.init_std is None
    own_images = preset_config("lecture-000-cae", dataset="folder:/tmp/x",
                               image_size=parse_setting("image_size", "native"), color=parse_setting("color", "native"))
    assert own_images.data.image_size is None and own_images.data.color is None


def test_init_std_and_activation_reach_the_network():
    default = build_model(preset_config("ae").model, (1, 28, 28))
    lecture = build_model(preset_config("ae", activation="tanh", init_std=0.1).model, (1, 28, 28))
    first_weights = [m.weight for m in lecture.modules() if isinstance(m, nn.Linear)][0]
    assert abs(first_weights.std().item() - 0.1) < 0.005  # N(0, 0.1), as lecture 003
    assert [m.weight for m in default.modules() if isinstance(m, nn.Linear)][0].std().item() < 0.05
    assert any(isinstance(m, nn.Tanh) for m in lecture.modules())
    assert not any(isinstance(m, nn.Tanh) for m in default.modules())
    assert torch.all(next(m.bias for m in lecture.modules() if isinstance(m, nn.Linear)) == 0)


@pytest.mark.parametrize(("name", "text"), [
    ("latent", "abc"), ("latent", "2.5"), ("noise", "lots"), ("classes", "1,x"), ("classes", ""),
    ("noise_kind", "pink"), ("activation", "swish"), ("optimizer", "lbfgs"), ("color", "blue"),
    ("image_size", "big"), ("init_std", "wide"),
])
def test_garbage_is_refused_with_one_line_naming_the_setting(name, text):
    with pytest.raises(ConfigError) as refused:
        parse_setting(name, text)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{name} must be ") and message.endswith(f"got {text!r}")
