"""End to end on real MNIST: the shipped runs meet their bars, and a fresh run learns; the shipped labs."""


import pytest
import torch

from aecore.checkpoints import LABS_DIR, PRETRAINED_DIR, PREVIEW_FILE, load_run
from aecore.cli import main
from aecore.presets import preset_config
from aecore.retrain_shipped import build_lab
from aecore.scoring import reconstruction_mse
from aecore.shipped import LAB_PRESETS, SHIPPED_RUNS, lab_model

MAX_RUN_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def mean_image_mse(mnist):
    """The MSE of always answering the mean training image: any autoencoder must beat it."""
    mean = mnist.train.x.mean(dim=0, keepdim=True)
    return float((mnist.test.x - mean).square().mean())


@pytest.mark.slow
@pytest.mark.parametrize("shipped", SHIPPED_RUNS, ids=lambda run: run.name)
def test_shipped_run_loads_fits_the_size_limit_and_meets_its_bar(shipped, mnist, mean_image_mse):
    folder = PRETRAINED_DIR / shipped.name
    size = sum(path.stat().st_size for path in folder.iterdir())
    assert size <= MAX_RUN_BYTES, f"{shipped.name} is {size / 1e6:.1f} MB"
    assert (folder / PREVIEW_FILE).is_file()
    run = load_run(folder)
    assert run.config.preset == shipped.preset and run.class_names == tuple(str(d) for d in range(10))
    mse = reconstruction_mse(run.model, mnist.test)
    if shipped.max_test_mse is not None:
        assert mse <= shipped.max_test_mse
    assert mse < 0.6 * mean_image_mse  # even a 2-number code beats drawing the average digit
    if run.config.model.variational:
        samples = run.model.sample(4, torch.Generator().manual_seed(0))
        assert samples.shape == (4, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1


@pytest.mark.slow
def test_cli_trains_and_evaluates_on_real_mnist(tmp_path, capsys, mnist, mean_image_mse):
    folder = tmp_path / "mnist-run"
    assert main(["train", "--preset", "ae", "--fraction", "0.25", "--epochs", "3", "--quiet",
                 "--out", str(folder)]) == 0
    assert main(["eval", str(folder)]) == 0
    assert "mnist test (10000 images)" in capsys.readouterr().out
    assert reconstruction_mse(load_run(folder).model, mnist.test) < 0.8 * mean_image_mse


def test_every_lab_the_page_shows_ships_trained_from_its_current_preset():
    assert {folder.name for folder in LABS_DIR.iterdir() if folder.is_dir()} == set(LAB_PRESETS)  # none stale
    for preset in LAB_PRESETS:
        folder = LABS_DIR / preset
        assert sum(path.stat().st_size for path in folder.iterdir()) <= MAX_RUN_BYTES, preset
        assert load_run(folder).config == preset_config(preset), f"{preset}: rebuild it with make checkpoints"


def test_a_lab_without_a_matching_shipped_run_is_trained_on_the_spot(tmp_path):
    preset = "lecture-002-undercomplete"
    model, data = lab_model(preset, root=tmp_path)  # nothing shipped there: trained now
    build_lab(preset, root=tmp_path)
    shipped, _ = lab_model(preset, root=tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), shipped.state_dict().values(),
                                                 strict=True))  # seeded: the same weights either way
    config = tmp_path / preset / "config.json"  # a shipped run from an older preset is not used
    config.write_text(config.read_text().replace('"epochs": 1000', '"epochs": 3'))
    assert load_run(tmp_path / preset).config != preset_config(preset)
    retrained, _ = lab_model(preset, root=tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), retrained.state_dict().values(),
                                                 strict=True))
    assert data.name == "random-10x10" and not model.training


@pytest.mark.slow
def test_the_shipped_sparse_autoencoder_is_sparse(mnist):
    run = load_run(PRETRAINED_DIR / "mnist-sparse-ae")
    rho = run.config.objective.sparsity_rho
    with torch.inference_mode():
        mean_activation = float(run.model.encode(mnist.test.x[:5000]).mean())
    assert abs(mean_activation - rho) <= 0.2 * rho, mean_activation  # what the Inside page shows, as lecture 002 says
