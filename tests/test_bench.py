"""The benchmark suite runs (a tiny smoke run); its figures are not checked against targets here."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_run_writes_every_key(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())
    for key in ("fit_vs_bare_ratio", "epoch_s", "tsne_speedup", "tsne_trustworthiness", "sklearn_trustworthiness",
                "decode_ms_p50", "grid20_ms_p50", "interp_ms_p50", "neighbours_ms_p50", "cold_start_s",
                "cold_start_full_s", "fit_vs_dataloader_ratio", "peak_rss_mb", "device"):
        assert key in figures, key
    assert figures["fit_vs_bare_ratio"] > 0 and figures["decode_ms_p50"] > 0
    assert "decode_ms_p50" in result.stdout  # the readable table


def test_projection_bench_compares_both_methods_with_the_library_defaults(tmp_path):
    """A smoke run of the comparison on 300 codes (each side is fitted twice: warmed up, then timed)."""
    out = tmp_path / "projection.json"
    result = subprocess.run([sys.executable, "-m", "bench.projection", "--sizes", "300", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["threads"] == 2 and set(figures["sizes"]) == {"300"}
    for method in ("tsne", "umap"):
        measured = figures["sizes"]["300"][method]
        for side in ("ours", "default"):
            assert measured[f"{side}_s"] > 0 and 0 <= measured[f"{side}_trust"] <= 1, (method, side)
        assert measured["speedup"] > 0
    assert "| 300 | t-SNE |" in result.stdout and "| 300 | UMAP |" in result.stdout  # the readable table
