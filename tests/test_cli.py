"""`python -m aecore`: train, eval, export and listings; bad input gives one line and exit code 2."""

import csv
import subprocess
import sys

import pytest

from aecore import projection_cache
from aecore.checkpoints import load_run
from aecore.cli import build_parser, main, train_config
from aecore.data import load_dataset
from aecore.settings import SETTINGS


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "tiny"
    code = main(["train", "--preset", "ae", "--dataset", "digits", "--latent", "3", "--epochs", "2",
                 "--batch-size", "64", "--noise", "0.2", "--out", str(folder), "--quiet"])
    assert code == 0
    return folder


def test_train_saves_a_run_with_the_flags_applied(tiny_run):
    run = load_run(tiny_run)
    assert run.config.model.latent_dim == 3 and run.config.train.epochs == 2
    assert run.config.objective.noise == "gaussian" and run.config.objective.noise_factor == 0.2
    assert run.config.data.name == "digits" and run.epochs == 2


def test_train_prints_epochs_and_final_losses(tmp_path, capsys):
    assert main(["train", "--preset", "vae", "--dataset", "digits", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "vae")]) == 0
    out = capsys.readouterr().out
    assert "epoch 1: train total" in out and "kl" in out
    assert "finished 1 epoch in" in out and f"saved run to {tmp_path / 'vae'}" in out


def test_resume_continues_a_saved_run(tiny_run, tmp_path, capsys):
    out_folder = tmp_path / "resumed"
    assert main(["train", "--resume", str(tiny_run), "--epochs", "3", "--out", str(out_folder), "--quiet"]) == 0
    assert "epochs 3-3" in capsys.readouterr().out
    assert load_run(out_folder).epochs == 3


def test_eval_prints_test_losses(tiny_run, capsys):
    assert main(["eval", str(tiny_run)]) == 0
    out = capsys.readouterr().out
    assert "digits test (359 images)" in out and "reconstruction" in out


def test_export_writes_index_label_and_latent_columns(tiny_run, tmp_path):
    target = tmp_path / "codes.csv"
    assert main(["export", str(tiny_run), "--csv", str(target)]) == 0
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["index", "label", "class", "z0", "z1", "z2", "pca_x", "pca_y"]
    assert len(rows) == 1 + 359
    assert [row[0] for row in rows[1:4]] == ["0", "1", "2"]
    assert all(0 <= int(row[1]) <= 9 for row in rows[1:])
    float(rows[1][3])


def test_export_of_every_split_adds_a_split_column_and_shares_its_t_sne_map(tiny_run, tmp_path, monkeypatch,
                                                                            capsys):
    monkeypatch.setenv(projection_cache.CACHE_DIR_ENV, str(tmp_path / "projections"))
    data = load_dataset(load_run(tiny_run).config.data)
    target = tmp_path / "all.csv"
    assert main(["export", str(tiny_run), "--csv", str(target), "--split", "all", "--projection", "tsne",
                 "--projection", "pca", "--quiet"]) == 0
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["index", "split", "label", "class", "z0", "z1", "z2", "tsne_x", "tsne_y", "pca_x", "pca_y"]
    splits = [row[1] for row in rows[1:]]
    assert splits == ["test"] * len(data.test) + ["train"] * len(data.train) + ["val"] * len(data.val)
    assert [row[0] for row in rows[1:3]] == ["0", "1"] and rows[1 + len(data.test)][0] == "0"  # rows of each split
    assert [int(row[2]) for row in rows[1 + len(data.test):][:5]] == data.train.y[:5].tolist()
    assert len(list((tmp_path / "projections").glob("*.npz"))) == 1  # the t-SNE map, for the dashboard too
    assert "t-SNE map from the cache" not in capsys.readouterr().out
    again = tmp_path / "again.csv"
    assert main(["export", str(tiny_run), "--csv", str(again), "--split", "all", "--projection", "tsne"]) == 0
    assert "t-SNE map from the cache" in capsys.readouterr().out
    assert [row[7:9] for row in csv.reader(again.open())] == [row[7:9] for row in rows]


def test_export_of_the_training_split(tiny_run, tmp_path):
    target = tmp_path / "train.csv"
    assert main(["export", str(tiny_run), "--csv", str(target), "--split", "train"]) == 0
    rows = list(csv.reader(target.open()))
    train = load_dataset(load_run(tiny_run).config.data).train
    assert rows[0][:4] == ["index", "label", "class", "z0"] and len(rows) == 1 + len(train)
    assert [int(row[1]) for row in rows[1:6]] == train.y[:5].tolist()


def test_listings(capsys):
    assert main(["presets"]) == 0
    presets = capsys.readouterr().out
    assert all(name in presets for name in ("ae", "stacked-ae", "denoising-ae", "sparse-ae", "conv-ae", "vae",
                                            "conv-vae", "lecture-003-ae", "lecture-002-toy", "lecture-000-cae"))
    assert main(["datasets"]) == 0
    datasets = capsys.readouterr().out
    assert all(name in datasets for name in ("mnist", "fashion-mnist", "digits", "patterns-3x3", "folder:PATH"))
    assert main(["checkpoints"]) == 0


def test_layers_prints_the_lecture_000_table(capsys):
    assert main(["layers", "--preset", "lecture-000-cae", "--input", "3x224x224"]) == 0
    out = capsys.readouterr().out
    assert "1x1x1024" in out and "size after flatten: 1,024" in out
    assert main(["layers", "--preset", "conv-ae"]) == 0
    assert "28x28x1" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--preset", "ae", "--latent", "0"], "model.latent_dim"),
    (["train", "--preset", "ae", "--noise", "-0.5"], "objective.noise_factor"),
    (["train", "--preset", "nope"], "unknown preset"),
    (["train", "--dataset", "imagenet"], "unknown dataset"),
    (["train", "--preset", "lecture-000-cae"], "folder:PATH"),
    (["eval", "/no/such/run"], "not a run folder"),
    (["layers", "--preset", "ae", "--input", "28x28"], "CxHxW"),
])
def test_bad_values_give_one_line_and_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and "Traceback" not in err


def _train_args(*flags: str):
    return build_parser().parse_args(["train", *flags])


def test_every_setting_is_a_train_flag_and_the_help_lists_its_choices(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    for setting in SETTINGS:
        assert setting.flag in help_text, setting.flag
        if setting.choices and setting.strict:
            assert "{" + ",".join(map(setting.format, setting.choices)) + "}" in help_text


def test_the_lecture_knobs_are_flags_that_reach_the_config():
    config = train_config(_train_args("--activation", "tanh", "--init-std", "0.1", "--classes", "1,5,6",
                                      "--noise-kind", "masking", "--noise", "0.2", "--test-fraction", "0.3"))
    assert (config.model.activation, config.model.init_std, config.data.classes) == ("tanh", 0.1, (1, 5, 6))
    assert (config.objective.noise, config.objective.noise_factor, config.data.test_fraction) == ("masking", 0.2, 0.3)
    cleared = train_config(_train_args("--preset", "lecture-003-ae", "--classes", "all", "--init-std", "default"))
    assert cleared.data.classes is None and cleared.model.init_std is None


@pytest.mark.parametrize(("argv", "line"), [
    (["--latent", "abc"], "error: latent must be an integer; got 'abc'"),
    (["--noise-kind", "pink"], "error: noise_kind must be one of none, gaussian, masking, salt_and_pepper; got 'pink'"),
    (["--classes", "1,x"], "error: classes must be comma-separated integers, e.g. 1,5,6, or all; got '1,x'"),
])
def test_a_garbage_flag_value_is_refused_with_one_line(argv, line, capsys):
    assert main(["train", *argv]) == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_unreadable_run_folder(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    assert main(["eval", str(tmp_path)]) == 2
    assert "config.json is not valid JSON" in capsys.readouterr().err


def test_the_module_entry_point_reports_errors_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "aecore", "train", "--latent", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: model.latent_dim must be an integer in [1, 4096]; got 0"]
    unknown = subprocess.run([sys.executable, "-m", "aecore", "train", "--bogus"],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "unrecognized arguments: --bogus" in unknown.stderr


def test_train_on_a_labelled_image_folder_prints_skipped_files(tmp_path, capsys):
    from PIL import Image

    for label, color in (("cats", (200, 40, 40)), ("dogs", (40, 40, 200))):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (24, 20), color).save(tmp_path / "images" / label / f"{i}.png")
    (tmp_path / "images" / "dogs" / "notes.txt").write_text("not an image")
    assert main(["train", "--preset", "conv-ae", "--dataset", f"folder:{tmp_path / 'images'}", "--image-size", "16",
                 "--epochs", "1", "--batch-size", "4", "--quiet", "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert "notes.txt: not an image file type" in captured.err
    run = load_run(tmp_path / "run")
    assert run.class_names == ("cats", "dogs") and run.model.input_shape == (3, 16, 16)


def test_sweep_prints_a_table_writes_csv_and_saves_every_run(tmp_path, capsys, monkeypatch):
    import csv

    import aecore.checkpoints

    monkeypatch.setattr(aecore.checkpoints, "USER_RUNS_DIR", tmp_path / "runs")
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--preset", "ae", "--dataset", "digits", "--device", "cpu", "--latent", "2,3",
                 "--epochs", "1", "--quiet", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sweep of 2 runs of ae, 1 epoch each" in printed and "val_loss" in printed
    rows = list(csv.DictReader(out.open()))
    assert [(row["latent"], row["status"]) for row in rows] == [("2", "done"), ("3", "done")]
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["sweep-ae-latent2", "sweep-ae-latent3"]


@pytest.mark.parametrize(("argv", "message"), [
    (["sweep", "--latent", "0,2"], "model.latent_dim"),
    (["sweep", "--latent", "2"], "one or two settings"),
    (["sweep", "--latent", "2,8", "--epochs", "1,2"], "epochs is set for the whole sweep"),
])
def test_a_bad_sweep_is_refused_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
