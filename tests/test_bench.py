"""The benchmarks' machinery: result files, statistics, the README report and the comparison of two runs.

Hand-made result files keep these tests fast; one process makes tiny smoke runs of the suite and the projection
bench, to check that they still run end to end. No timing is asserted anywhere.
"""

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import compare, library_versions, machine, report, results, stats

ROOT = Path(__file__).resolve().parent.parent
MACHINE = {"cpu": "Test CPU", "cores": 2, "memory_gb": 8.0, "gpu": [], "commit": "abc1234", "dirty": False,
           "date": "2026-12-07T01:35:00+00:00", "python": "3.11", "platform": "Linux", "load_1min": 0.1}
VERSIONS = {"torch": "2.0", "numpy": "2.0"}


def result_doc(part="suite", date="2026-12-07T01:35:00+00:00", **medians) -> dict:
    """A small result document whose figures have the given medians (name=(median, better)), five samples each."""
    figures = {name: stats.figure([median * scale for scale in (0.95, 0.98, 1.0, 1.02, 1.05)], "s", better)
               for name, (median, better) in medians.items()}
    return results.document(part, figures, {"note": "hand-made"}, {"scale": "test"},
                            machine_info={**MACHINE, "date": date}, versions=VERSIONS)


# ------------------------------------------------------------------------------------------------ statistics


def test_a_figure_is_the_median_of_its_samples_with_their_spread():
    figure = stats.figure([3.0, 1.0, 2.0, 5.0, 4.0], "s", "lower")
    assert figure["median"] == 3.0 and figure["min"] == 1.0 and figure["max"] == 5.0
    assert figure["q1"] == 2.0 and figure["q3"] == 4.0 and figure["n"] == 5
    assert figure["samples"] == [3.0, 1.0, 2.0, 5.0, 4.0]  # in the order measured
    assert figure["unit"] == "s" and figure["better"] == "lower" and "p95" not in figure
    assert stats.is_figure(figure) and not stats.is_figure({"median": 1})
    assert "p95" in stats.figure(range(20), "ms", "lower") and "p95" in stats.figure([1.0], "s", "lower", p95=True)
    with pytest.raises(ValueError):
        stats.figure([1.0], "s", "faster")


def test_interleaved_sides_take_turns_and_ratios_pair_their_rounds():
    calls = []
    sides = {name: (lambda name=name: calls.append(name) or len(calls)) for name in ("a", "b")}
    samples = stats.interleaved(sides, rounds=4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]  # no side always first
    assert samples == {"a": [1, 4, 5, 8], "b": [2, 3, 6, 7]}
    assert stats.ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    with pytest.raises(ValueError):
        stats.ratios([1.0], [1.0, 2.0])
    assert stats.repeat(lambda: 7, times=5, warm_up=1) == [7.0] * 5


# ------------------------------------------------------------------------------------------------ result files


def test_a_result_file_holds_the_machine_versions_and_every_figures_samples(tmp_path):
    doc = result_doc(decode_ms=(0.3, "lower"))
    path = results.save(doc, folder=tmp_path)
    assert path.name == "2026-12-07-0135-abc1234-suite.json" and results.part_of(path) == "suite"
    read = results.load(path)
    assert read["format"] == results.FORMAT and read["part"] == "suite" and read["arguments"] == {"scale": "test"}
    assert read["machine"]["cpu"] == "Test CPU" and read["versions"] == VERSIONS
    decode = read["figures"]["decode_ms"]
    assert decode["median"] == 0.3 and len(decode["samples"]) == decode["n"] == 5 and decode["min"] < decode["max"]
    dirty = results.file_name({**doc, "machine": {**MACHINE, "dirty": True}, "part": "suite-quick"})
    assert dirty == "2026-12-07-0135-abc1234-dirty-suite-quick.json" and results.part_of(Path(dirty)) == "suite-quick"
    (tmp_path / "legacy.json").write_text("{}")
    with pytest.raises(ValueError):
        results.load(tmp_path / "legacy.json")


def test_the_machine_and_the_library_versions_are_described():
    described = machine()
    for key in ("cpu", "cores", "memory_gb", "gpu", "commit", "dirty", "date", "python"):
        assert key in described, key
    assert isinstance(described["gpu"], list)
    versions = library_versions()
    assert versions["torch"] and versions["numpy"] and versions["streamlit"] and versions["plotly"]
    assert {"openTSNE", "umap-learn", "scikit-learn", "ray"} <= set(versions)


def test_the_latest_file_of_a_part_is_the_newest_by_its_name(tmp_path):
    for date in ("2026-12-06T10:00:00+00:00", "2026-12-07T09:00:00+00:00", "2026-12-07T08:59:00+00:00"):
        results.save(result_doc(date=date, decode_ms=(1.0, "lower")), folder=tmp_path)
    results.save(result_doc(part="load", date="2026-12-08T00:00:00+00:00", x=(1.0, "higher")), folder=tmp_path)
    assert results.latest("suite", tmp_path).name == "2026-12-07-0900-abc1234-suite.json"
    assert results.latest("projection", tmp_path) is None
    nested = {"epoch_s": {"ae": stats.figure([1.0], "s", "lower")}, "peak": stats.figure([2.0], "MB", "lower")}
    assert [name for name, _ in results.flat_figures(nested)] == ["epoch_s.ae", "peak"]


# ------------------------------------------------------------------------------------------------ the report

README = """# Benchmarks

Prose kept by hand.

<!-- report:suite -->
an old table
<!-- /report:suite -->

More prose.

<!-- report:load -->
<!-- /report:load -->
"""


def test_the_report_writes_each_parts_latest_table_between_its_markers(tmp_path):
    path = results.save(result_doc(decode_ms=(0.25, "lower"), fit_vs_bare_ratio=(0.97, "higher")), folder=tmp_path)
    once = report.regenerate(README, tmp_path)
    assert once.startswith("# Benchmarks\n\nProse kept by hand.\n\n<!-- report:suite -->\n| figure | median |")
    assert "an old table" not in once and "More prose." in once
    assert "| decode_ms (s) | 0.25 | 0.2375 - 0.2625 |" in once and "| fit_vs_bare_ratio (s) | 0.97 |" in once
    assert f"From `bench/results/{path.name}`: Test CPU, 2 cores" in once and "commit abc1234" in once
    assert "_No result file for `load` in bench/results/ yet: `python -m bench.load` writes one._" in once
    assert report.regenerate(once, tmp_path) == once  # idempotent
    with pytest.raises(ValueError, match="suite"):
        report.regenerate("<!-- report:suite -->\nno end\n", tmp_path)


def test_a_report_marker_that_names_a_file_shows_that_file_not_its_parts_latest(tmp_path):
    older = results.save(result_doc(part="load", date="2026-12-06T10:00:00+00:00", x=(1.0, "higher")),
                         folder=tmp_path)
    newer = results.save(result_doc(part="load", date="2026-12-07T10:00:00+00:00", x=(2.0, "higher")),
                         folder=tmp_path)
    text = report.regenerate(f"<!-- report:{older.stem} -->\n<!-- /report:{older.stem} -->\n{README}", tmp_path)
    pinned, latest = text.split("<!-- report:load -->")
    assert f"From `bench/results/{older.name}`" in pinned and "| x (s) | 1 |" in pinned and newer.name not in pinned
    assert f"From `bench/results/{newer.name}`" in latest and "| x (s) | 2 |" in latest
    gone = "2026-01-01-0000-abc1234-load"
    assert f"`bench/results/{gone}.json`, which this table is pinned to, is missing" in report.regenerate(
        f"<!-- report:{gone} -->\n<!-- /report:{gone} -->\n", tmp_path)


def test_the_report_command_updates_the_readme_and_checks_it(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    results.save(result_doc(decode_ms=(0.25, "lower")), folder=tmp_path / "results")
    arguments = ["--readme", str(readme), "--results", str(tmp_path / "results")]
    assert report.main([*arguments, "--check"]) == 1 and readme.read_text() == README
    assert report.main(arguments) == 0 and "decode_ms" in readme.read_text()
    assert report.main([*arguments, "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_bench_readme_has_a_report_section_for_every_part():
    text = (ROOT / "bench" / "README.md").read_text()
    marked = {results.part_of(Path(f"{name}.json")) or name
              for name in (match.group("part") for match in report.MARKERS.finditer(text))}
    assert {"suite", "projection", "map-draw", "stream", "load"} <= marked


# ------------------------------------------------------------------------------------------------ comparison


def test_compare_flags_a_regression_only_in_each_figures_worse_direction():
    old = result_doc(slower=(1.0, "lower"), faster=(1.0, "lower"), less=(100.0, "higher"), more=(100.0, "higher"),
                     noise=(1.0, "lower"), neither=(1.0, None), gone=(1.0, "lower"), tracebacks=(0.0, "lower"),
                     still_none=(0.0, "lower"))
    new = result_doc(slower=(1.2, "lower"), faster=(0.5, "lower"), less=(80.0, "higher"), more=(150.0, "higher"),
                     noise=(1.05, "lower"), neither=(3.0, None), added=(1.0, "lower"), tracebacks=(2.0, "lower"),
                     still_none=(0.0, "lower"))
    found = {change.name: change for change in compare.changes(old, new)}
    assert [name for name, change in found.items() if change.regressed()] == ["slower", "less", "tracebacks"]
    assert found["slower"].percent == pytest.approx(20.0) and found["less"].percent == pytest.approx(-20.0)
    assert found["gone"].new is None and found["added"].old is None
    text = compare.render(list(found.values()))
    assert "REGRESSION" in next(line for line in text.splitlines() if line.startswith("slower"))
    assert "REGRESSION" not in next(line for line in text.splitlines() if line.startswith("more"))
    assert "only in new" in text and "only in old" in text


def test_compare_exits_non_zero_on_a_regression(tmp_path, capsys):
    old = results.save(result_doc(decode_ms=(1.0, "lower")), tmp_path / "old.json")
    same = results.save(result_doc(decode_ms=(1.05, "lower")), tmp_path / "same.json")
    worse = results.save(result_doc(decode_ms=(1.5, "lower")), tmp_path / "worse.json")
    assert compare.main([str(old), str(same)]) == 0
    assert compare.main([str(old), str(worse)]) == 1
    assert "1 regression over 10 %: decode_ms" in capsys.readouterr().out
    assert compare.main([str(old), str(worse), "--threshold", "60"]) == 0
    (tmp_path / "legacy.json").write_text(json.dumps({"decode_ms_p50": 0.3}))
    assert compare.main([str(old), str(tmp_path / "legacy.json")]) == 2


# ------------------------------------------------------------------------------------------------ the parts


def test_the_load_bench_turns_its_measurements_into_figures_with_samples():
    from bench.load import figures_of

    measured = {"alone_steps_per_s": 40.0, "alone_steps_per_s_runs": [38.0, 42.0], "server_tracebacks": 0,
                "start": {"total_steps_per_s_by_window": [36.0, 40.0, 44.0], "per_run_steps_per_s": [8.0, 8.0],
                          "first_step_s": [1.0, None, 2.0], "peak_memory": {"peak_total_mb": 1500.0},
                          "page_exceptions": 0},
                "mixed": {"steps_per_s": 36.0, "rerun_samples_s": [0.1, 0.2], "server_run_samples": [["Explore", 0.1,
                          0.05]], "memory_mb": {"server": 900.0, "workers": [500.0, 400.0]}, "page_exceptions": 0}}
    figures = figures_of(measured)
    assert figures["alone_steps_per_s"]["median"] == 40.0 and figures["alone_steps_per_s"]["samples"] == [38.0, 42.0]
    assert figures["start"]["window_total_vs_alone"]["samples"] == [0.9, 1.0, 1.1]
    assert figures["start"]["first_step_s"]["n"] == 2 and "p95" in figures["start"]["first_step_s"]
    assert figures["mixed"]["vs_alone"]["median"] == 0.9 and figures["mixed"]["workers_memory_mb"]["median"] == 900.0
    assert figures["mixed"]["browser_rerun_s"]["better"] == "lower" and "idle" not in figures


def test_the_map_draw_bench_summarises_each_variants_draws():
    from bench.map_draw import summarise_draws

    draws = {"page": [{"parse_ms": 10.0, "draw_ms": 1000.0 + 100 * i, "then_ms": 0.0, "gl": 2,
                       "margins": {"l": 40.4, "r": 10, "t": 10, "b": 30}} for i in range(5)]}
    figures, details = summarise_draws({"page": {"data": []}}, draws, [1.5] * 5, then=False)
    draw = figures["page"]["draw_s"]
    assert draw["median"] == 1.2 and draw["samples"] == [1, 1.1, 1.2, 1.3, 1.4] and draw["better"] == "lower"
    assert "then_s" not in figures["page"] and figures["page"]["spec_mb"]["n"] == 1
    assert details["variants"]["page"] == {"webgl_canvases": 2, "margins": {"l": 40, "r": 10, "t": 10, "b": 30}}


def test_the_map_page_bench_summarises_the_looks_that_ended():
    from bench.map_page import figures_of

    looks = [{"first_picture_s": 0.8 + i / 10, "finished_s": 30.0 + i, "payload_mb": 17.0, "largest_message_mb": 2.5,
              "messages": 40} for i in range(3)] + [{"error": "TimeoutError: the map was not drawn"}]
    figures = figures_of({"looks": looks, "server_tracebacks": 1})
    assert figures["first_picture_s"]["samples"] == [0.8, 0.9, 1.0] and figures["finished_s"]["median"] == 31
    assert figures["payload_mb"]["unit"] == "MB" and figures["largest_message_mb"]["n"] == 3  # the error left out
    assert figures["server_tracebacks"]["median"] == 1
    assert set(figures_of({"looks": looks[3:], "server_tracebacks": 0})) == {"server_tracebacks"}


def test_the_train_page_bench_takes_the_run_that_finished_after_its_click(tmp_path):
    import os
    from types import SimpleNamespace

    from bench.train_page import LINK, _finished_run

    runs = tmp_path / "class" / "runs"
    for name, status, mtime in (("earlier", "finished", 100.0), ("training", "running", 300.0),
                                ("this", "finished", 300.0)):
        (runs / name).mkdir(parents=True)
        (runs / name / "job.json").write_text(json.dumps({"status": status}))
        os.utime(runs / name / "job.json", (mtime, mtime))
    found = _finished_run(SimpleNamespace(folder=tmp_path), after=200.0)
    assert found["folder"].name == "this" and found["record"]["status"] == "finished"
    assert _finished_run(SimpleNamespace(folder=tmp_path), after=400.0) is None
    assert "preset=ae" in LINK and "epochs=1" in LINK  # the CLI's config: preset "ae", one epoch


def test_the_stream_bench_pairs_its_paths_round_by_round():
    from bench.stream import figures_of

    def path(train: float) -> dict:
        return {"load_s": 1.0, "first_step_s": 0.5, "train_images_per_s": train, "batches_images_per_s": 2 * train,
                "peak_rss_mb": 900}

    rounds = [{"memory": path(100.0), "streamed": path(90.0), "streamed_cached": path(95.0),
               "streamed_all": {"error": "MemoryError"}},
              {"memory": path(120.0), "streamed": path(120.0), "streamed_cached": path(95.0),
               "streamed_all": path(80.0)}]
    figures = figures_of(rounds)
    assert figures["train_ratio"]["samples"] == [0.9, 1.0] and figures["batches_ratio"]["better"] == "higher"
    assert figures["streamed_all"]["train_images_per_s"]["n"] == 1  # the failed round left out
    assert figures["memory"]["peak_rss_mb"]["better"] == "lower"


def _continuity_by_its_definition(codes, points, k):
    """Venna and Kaski's continuity, written out: each code's k nearest codes that are not among its k nearest
    in the map cost their rank in the map less k."""
    import numpy as np

    n = len(codes)
    high = np.linalg.norm(codes[:, None] - codes[None], axis=2)
    low = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(high, np.inf)
    np.fill_diagonal(low, np.inf)
    low_rank = np.argsort(np.argsort(low, axis=1), axis=1) + 1  # rank 1: the nearest other point
    penalty = sum(max(0, low_rank[i, j] - k) for i in range(n) for j in np.argsort(high[i])[:k])
    return 1 - 2 / (n * k * (2 * n - 3 * k - 1)) * penalty


def test_projection_quality_counts_neighbours_labels_and_both_directions():
    import numpy as np
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    from bench.projection import knn_accuracy, map_quality

    rng = np.random.default_rng(0)
    labels = np.repeat([3, 7], 40)
    clusters = rng.normal(size=(80, 2)) + np.where(labels[:, None] == 3, 0.0, 100.0)
    assert knn_accuracy(clusters, labels) == 1.0
    assert knn_accuracy(np.repeat([[0.0, 0.0], [5.0, 5.0]], 40, axis=0), labels) == 1.0  # all at distance 0: ties
    mixed, mixed_labels = rng.normal(size=(90, 2)), rng.integers(0, 3, size=90)
    loo = cross_val_predict(KNeighborsClassifier(n_neighbors=10), mixed, mixed_labels, cv=LeaveOneOut())
    assert knn_accuracy(mixed, mixed_labels) == pytest.approx(np.mean(loo == mixed_labels))  # leave-one-out 10-NN

    codes = rng.normal(size=(120, 6)).astype(np.float32)
    identity = map_quality(codes[:, :2], codes[:, :2], np.zeros(120))
    assert identity["trustworthiness"] == pytest.approx(1.0) and identity["continuity"] == pytest.approx(1.0)
    points = codes[:, :2] + 0.3 * rng.normal(size=(120, 2))
    kept, shuffled = map_quality(codes, points, np.zeros(120)), map_quality(codes, rng.permutation(points),
                                                                            np.zeros(120))
    assert shuffled["trustworthiness"] < kept["trustworthiness"] and shuffled["continuity"] < kept["continuity"]
    assert kept["continuity"] == pytest.approx(float(trustworthiness(points, codes, n_neighbors=10)))
    assert kept["continuity"] == pytest.approx(_continuity_by_its_definition(codes, points, 10))
    assert kept["continuity"] != pytest.approx(kept["trustworthiness"])  # the two directions differ here
    assert map_quality(codes, points, np.zeros(120), sample=50) == map_quality(codes, points, np.zeros(120),
                                                                               sample=50)  # a fixed subsample
    assert map_quality(codes, points, np.zeros(120), sample=50) != kept


def test_the_projection_bench_skips_what_it_is_told_to():
    from bench.projection import parse_skip, skipped

    skip = parse_skip("sklearn@70000, opentsne", ["tsne", "umap", "opentsne", "sklearn", "umap-learn"])
    assert skip == ["sklearn@70000", "opentsne"]
    assert skipped(skip, "sklearn", 70_000) and not skipped(skip, "sklearn", 20_000)
    assert skipped(skip, "opentsne", 5000) and not skipped(skip, "tsne", 70_000)
    for wrong in ("sklaern@70000", "sklearn@70k"):
        with pytest.raises(ValueError):
            parse_skip(wrong, ["sklearn"])


def test_flops_are_counted_from_the_layers_shapes():
    import torch

    from bench.suite import _model_shaped_matmuls, count_flops

    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    count = count_flops(mlp, (1, 2, 3))
    assert count.forward == 2 * (6 * 4 + 4 * 3) == 72
    assert count.training == 72 + 72 + 2 * 4 * 3 == 168  # weights' gradients, and the second layer's input's
    assert [layer.features for layer in count.layers] == [(6, 4), (4, 3)] and mlp.training
    step, flops = _model_shaped_matmuls(count, batch=5)
    assert flops == 5 * 168
    step()

    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ConvTranspose2d(2, 1, 2, stride=2),
                               torch.nn.Flatten(), torch.nn.Linear(64, 5))
    count = count_flops(conv, (1, 4, 4))
    # conv: 2 x 4 x 4 outputs of 1 x 3 x 3 each; transposed: 2 x 4 x 4 inputs spread over 1 x 2 x 2; linear 64 x 5
    assert [layer.forward for layer in count.layers] == [2 * 32 * 9, 2 * 32 * 4, 2 * 64 * 5]
    assert count.training == 3 * count.forward - 2 * 32 * 9
    with pytest.raises(ValueError, match="MLP"):
        _model_shaped_matmuls(count, batch=5)


@pytest.mark.slow
def test_the_cli_and_the_pages_job_each_train_an_epoch_of_the_same_config():
    """cli_vs_page at the smoke sizes with one round (it is not in the smoke run: a CLI process takes seconds)."""
    import dataclasses

    from bench import suite

    figures = suite.cli_vs_page(dataclasses.replace(suite.SCALES["smoke"], cli_vs_page=True))["cli_vs_page"]
    for name in ("cli_epoch_s", "page_epoch_s", "cli_process_s"):
        assert figures[name]["median"] > 0 and figures[name]["n"] == 1 and figures[name]["better"] == "lower", name
    assert figures["cli_process_s"]["median"] > figures["cli_epoch_s"]["median"]  # the epoch is part of the process
    assert figures["page_vs_cli_ratio"]["unit"] == "x" and figures["page_vs_cli_ratio"]["better"] == "higher"
    assert suite.cli_vs_page(suite.SCALES["smoke"]) == {}


def test_smoke_runs_of_the_suite_and_the_projection_bench_write_result_files(tmp_path):
    """The suite's smoke run, then the projection comparison on 300 and 200 codes of the shipped MLP run (its
    70,000 codes are encoded fast) with one seed (each map fitted twice: warmed up, then timed; scikit-learn's
    skipped at 200), in one process so that their imports are paid once."""
    suite_out, projection_out = tmp_path / "suite.json", tmp_path / "projection.json"
    code = ("import sys\n"
            "from bench import __main__ as suite, projection\n"
            f"sys.exit(suite.main(['--smoke', '--out', {str(suite_out)!r}])\n"
            f"         or projection.main(['--runs', 'mnist-ae-latent32', '--sizes', '300,200', '--seeds', '1',\n"
            f"                                '--skip', 'sklearn@200',\n"
            f"                                '--out', {str(projection_out)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| decode_ms (ms) |" in done.stdout  # the suite's readable table
    assert "| mnist-ae-latent32 | 300 | ours t-SNE |" in done.stdout  # the projection's
    assert "| mnist-ae-latent32 | 200 | ours UMAP |" in done.stdout

    doc = results.load(suite_out)
    assert doc["part"] == "suite-smoke" and doc["arguments"] == {"scale": "smoke"} and doc["machine"]["cores"]
    assert doc["versions"]["torch"] and doc["details"]["scale"]["repetitions"] == 1  # as little work as before
    figures = doc["figures"]
    for name in ("fit_vs_bare_ratio", "fit_vs_dataloader_ratio", "tsne_speedup_vs_sklearn", "tsne_trustworthiness",
                 "sklearn_trustworthiness", "decode_ms", "grid20_ms", "grid20_conv_ms", "interp_ms", "neighbours_ms",
                 "train_first_preview_s", "peak_rss_mb"):
        assert stats.is_figure(figures[name]), name
        assert figures[name]["n"] == len(figures[name]["samples"]) >= 1, name
    assert figures["epoch_s"]["ae"]["median"] > 0 and figures["decode_ms"]["n"] == 5
    assert figures["fit_vs_bare_ratio"]["n"] == 1 and figures["fit_vs_bare_ratio"]["better"] == "higher"

    from aecore.presets import preset_config

    model = preset_config("ae").model  # 784 -> hidden -> latent -> hidden reversed -> 784
    widths = [28 * 28, *model.hidden, model.latent_dim, *reversed(model.hidden), 28 * 28]
    forward = sum(2 * n_in * n_out for n_in, n_out in itertools.pairwise(widths))
    assert figures["flops_per_image"]["median"] == 3 * forward - 2 * widths[0] * widths[1]  # no gradient for images
    assert figures["flops_per_image"]["unit"] == "FLOP" and figures["flops_per_image"]["better"] is None
    for name in ("matmul_gflops.model_shaped", "matmul_gflops.square", "achieved_gflops",
                 "physical_images_per_s.fit", "physical_images_per_s.model_shaped_limit"):
        figure = dict(results.flat_figures(figures))[name]
        assert figure["median"] > 0 and figure["n"] == 1 and figure["better"] == "higher", name
    for name in ("fraction_of_model_shaped_limit", "fraction_of_square_peak"):
        assert figures[name]["median"] > 0 and figures[name]["better"] == "higher", name

    doc = results.load(projection_out)
    assert doc["part"] == "projection" and doc["details"]["threads"] == 2
    assert set(doc["figures"]["runs"]) == {"mnist-ae-latent32"} and doc["arguments"]["runs"] == ["mnist-ae-latent32"]
    assert doc["details"]["skipped"] == ["mnist-ae-latent32: sklearn@200"]
    for run, sizes in doc["figures"]["runs"].items():
        assert set(sizes) == {"300", "200"}, run
        for size, expected in (("300", {"ours-tsne", "ours-umap", "opentsne", "sklearn", "umap-learn"}),
                               ("200", {"ours-tsne", "ours-umap", "opentsne", "umap-learn"})):
            maps = sizes[size]
            assert set(maps) == expected | {"vs_fastest_baseline"}, (run, size)
            for key in expected:
                assert maps[key]["time_s"]["median"] > 0 and maps[key]["time_s"]["n"] == 1, (run, size, key)
                for name in ("knn10_accuracy", "trustworthiness", "continuity"):
                    assert 0 <= maps[key][name]["median"] <= 1 and maps[key][name]["better"] == "higher", name
            fastest = doc["details"]["runs"][run][size]["fastest_baseline"]
            assert fastest in expected and not fastest.startswith("ours")
            for key in ("ours-tsne", "ours-umap"):
                against = maps["vs_fastest_baseline"][key]
                assert against["speedup"]["median"] == pytest.approx(
                    maps[fastest]["time_s"]["median"] / maps[key]["time_s"]["median"], rel=1e-3)
                assert against["knn10_gap"]["median"] == pytest.approx(
                    maps[key]["knn10_accuracy"]["median"] - maps[fastest]["knn10_accuracy"]["median"], abs=1e-3)
                assert against["speedup"]["better"] == "higher" and against["knn10_gap"]["better"] is None
                verdict = doc["details"]["targets"][run][size][key]
                assert verdict["against"] == fastest and verdict["met"] == (
                    verdict["speedup_short_by"] == 0 and verdict["knn10_short_by"] == 0)
