"""Architectures: shapes for every preset, the VAE head, conv variants, the layer table."""

import pytest
import torch

from aecore.config import ModelConfig
from aecore.data import expected_input_shape
from aecore.errors import AecoreError, ConfigError
from aecore.layer_table import layer_table, parse_shape
from aecore.models import build_model, list_models, register_model
from aecore.presets import get_preset, list_presets


def _preset_input_shape(preset):
    shape = expected_input_shape(preset.config.data)
    return shape if shape is not None else (3, 128, 128)


@pytest.mark.parametrize("preset", [p.name for p in list_presets()])
def test_every_preset_builds_and_keeps_shapes(preset):
    spec = get_preset(preset)
    shape = _preset_input_shape(spec)
    model = build_model(spec.config.model, shape)
    x = torch.rand(2, *shape)
    out = model(x)
    assert out.recon.shape == x.shape
    assert out.code.shape == (2, spec.config.model.latent_dim)
    assert model.encode(x).shape == (2, spec.config.model.latent_dim)
    assert model.decode(torch.zeros(3, spec.config.model.latent_dim)).shape == (3, *shape)
    if spec.config.model.output_activation == "sigmoid":
        assert out.recon.min() >= 0 and out.recon.max() <= 1


def test_registry_lists_and_refuses_duplicates():
    assert {"mlp", "conv"} <= set(list_models())
    with pytest.raises(ValueError, match="already registered"):
        register_model("mlp")(lambda config, shape: None)
    with pytest.raises(ConfigError, match="unknown architecture 'nope'; known: conv, mlp"):
        build_model(ModelConfig(arch="nope"), (1, 8, 8))


def test_vae_samples_in_training_and_uses_the_mean_in_eval():
    model = build_model(ModelConfig(latent_dim=3, variational=True, hidden=(16,)), (1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    model.train()
    out = model(x)
    assert out.mu.shape == out.logvar.shape == (4, 3)
    assert not torch.equal(out.code, out.mu)  # z = mu + sigma * eps
    model.eval()
    out = model(x)
    assert torch.equal(out.code, out.mu)
    assert torch.equal(model.encode(x), out.mu)
    assert model.sample(5).shape == (5, 1, 8, 8)


def test_plain_autoencoder_has_no_prior():
    model = build_model(ModelConfig(latent_dim=3, hidden=(16,)), (1, 8, 8))
    with pytest.raises(AecoreError, match="variational"):
        model.sample(2)


@pytest.mark.parametrize("block", ["strided", "pool"])
@pytest.mark.parametrize("channels", [1, 3])
def test_conv_handles_grey_and_colour_inputs(block, channels):
    config = ModelConfig(arch="conv", hidden=(8, 16), latent_dim=5, conv_block=block)
    model = build_model(config, (channels, 32, 32))
    assert model(torch.rand(2, channels, 32, 32)).recon.shape == (2, channels, 32, 32)


@pytest.mark.parametrize("block", ["strided", "pool"])
def test_conv_gives_back_every_square_size_its_blocks_accept(block):
    """An odd side halved rounding down (224 -> ... -> 7 -> 3 -> 1) comes back whole: the decoder gives back the
    size each block took in. Every side from 28 to 224, through as many blocks as it takes (up to seven: fewer
    blocks halve along the same sizes); shapes on the meta device (no memory)."""
    for side in range(28, 225):
        blocks = min(7, side.bit_length() - 1)  # the last one leaves 1 to 3 pixels
        config = ModelConfig(arch="conv", hidden=(2,) * blocks, latent_dim=2, conv_block=block, batch_norm=False)
        with torch.device("meta"):
            model = build_model(config, (1, side, side))
        assert model.output_shape == (1, side, side), (side, blocks, model.output_shape)
    model = build_model(ModelConfig(arch="conv", hidden=(8, 16, 32), conv_block=block), (1, 28, 28))  # 28 -> 3
    assert model(torch.rand(2, 1, 28, 28)).recon.shape == (2, 1, 28, 28)


def test_conv_refuses_inputs_too_small_for_its_blocks_and_odd_channel_counts():
    with pytest.raises(ConfigError, match="too small for 5 stride-2 blocks"):
        build_model(ModelConfig(arch="conv", hidden=(8,) * 5), (1, 28, 28))
    with pytest.raises(ConfigError, match="1 or 3 input channels"):
        build_model(ModelConfig(arch="conv", hidden=(8,)), (4, 8, 8))


def test_normal_init_follows_lecture_003():
    model = build_model(ModelConfig(hidden=(500, 300), latent_dim=2, activation="tanh", init_std=0.1), (1, 28, 28))
    first = model.encoder_body[1]
    assert abs(first.weight.std().item() - 0.1) < 0.005
    assert torch.count_nonzero(first.bias) == 0


def test_mlp_dropout_follows_every_hidden_layer_of_both_halves():
    model = build_model(ModelConfig(hidden=(32, 16), dropout=0.5), (1, 8, 8))
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 4  # 64-32-16 | L-16-32
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.to_code.modules())


def test_layer_table_answers_lecture_000_exercise():
    table = layer_table(get_preset("lecture-000-cae").config.model, (3, 224, 224))
    convs = [row for row in table.rows if row.name == "Conv2d"]
    assert [row.shape_text for row in convs] == [
        "112x112x32", "56x56x64", "28x28x128", "14x14x256", "7x7x512", "3x3x1024", "1x1x1024"]
    assert table.flatten_size == 1024
    assert table.reproduces_input and table.output_shape == (3, 224, 224)  # the decoder gives 224x224x3 back
    assert "cannot be trained at this size" not in table.to_text()
    model = build_model(get_preset("lecture-000-cae").config.model, (3, 128, 128))
    assert table.total_parameters == sum(p.numel() for p in model.parameters())


def test_the_shape_flow_lists_each_change_of_shape_once_with_the_code_marked():
    table = layer_table(ModelConfig(hidden=(4,), latent_dim=2), (1, 3, 3))
    assert table.shape_flow == (("input", "3x3x1"), ("encoder", "9"), ("encoder", "4"), ("code", "2"),
                                ("decoder", "4"), ("decoder", "9"), ("decoder", "3x3x1"))
    assert len(table.rows) > len(table.shape_flow)  # activations keep their layer's shape: not repeated


def test_layer_table_counts_parameters_of_an_mlp():
    table = layer_table(ModelConfig(hidden=(4,), latent_dim=2), (1, 3, 3))
    # 9*4+4, 4*2+2, 2*4+4, 4*9+9
    assert [row.parameters for row in table.rows if row.name == "Linear"] == [40, 10, 12, 45]
    assert table.reproduces_input and table.output_shape == (1, 3, 3)


def test_parse_shape():
    assert parse_shape("3x224x224") == (3, 224, 224)
    for bad in ("224x224", "3x0x4", "axbxc"):
        with pytest.raises(ValueError, match="CxHxW"):
            parse_shape(bad)


def test_a_model_too_big_to_train_is_refused_before_anything_is_allocated():
    huge = ModelConfig(hidden=(16384, 16384), latent_dim=32)
    with pytest.raises(ConfigError, match=r"M weights for a 3x224x224 input; at most 100 M train here"):
        build_model(huge, (3, 224, 224))
    with pytest.raises(ConfigError, match="choose a smaller image size"):
        build_model(ModelConfig(), (3, 4096, 4096))


def test_the_layer_table_of_a_huge_input_costs_no_memory():
    table = layer_table(ModelConfig(hidden=(512, 256)), (3, 1024, 1024))  # 1.6 G weights: only on the meta device
    assert table.rows[1].name == "Linear" and table.rows[1].parameters == 3 * 1024 * 1024 * 512 + 512
    with pytest.raises(ValueError, match="input values a model may take"):
        parse_shape("3x100000x100000")
