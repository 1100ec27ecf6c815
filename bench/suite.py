"""The measurements: each function returns a few named figures (seconds, milliseconds or ratios).

Every figure is a bench.stats.figure: the median of ``scale.repetitions`` samples (5 at the full and quick
scales; the latencies take ``scale.latency_samples`` calls) with its spread and the samples themselves. The
two sides of a ratio are measured in the same rounds, taking turns (bench.stats.interleaved), and the ratio's
samples are the per-round ratios. Benchmarks are not tests: nothing here asserts a target. ``run(scale)`` runs
them all at a scale ("full", "quick" or the tiny "smoke" the test suite uses).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aecore.checkpoints import PRETRAINED_DIR, load_run
from aecore.data import load_dataset
from aecore.latent import LatentPlane, decode_codes, encode_split, grid_points, interpolate, nearest_neighbours
from aecore.models import build_model
from aecore.presets import preset_config
from aecore.training import TrainingState, build_optimizer, device_description, fit, resolve_device
from aecore.viz import mosaic, to_pil
from bench.stats import figure, interleaved, ratios, repeat, seconds_of

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big each measurement is."""

    name: str
    repetitions: int  # samples of each figure (rounds of each ratio), latencies aside
    latency_samples: int  # calls timed per latency
    fit_fraction: float  # of MNIST's training split, for fit vs bare
    epoch_fraction: float  # of MNIST's training split for epoch_s (scaled up to a full epoch)
    epoch_presets: tuple[str, ...]
    tsne_points: int
    umap_points: int  # 0: no UMAP figures
    cold_starts: int  # fresh servers timed (0: none)
    pages: bool  # time every page's script
    matmul_seconds: float = 1.0  # least seconds of matmuls in one FLOP/s sample (physical_limit)
    square_size: int = 2048  # n of the n x n @ n x n matmul taken as the machine's peak
    cli_vs_page: bool = True  # train through the CLI and a Train page's job (fresh processes: not in smoke)


SCALES = {
    "full": Scale("full", 5, 200, 0.5, 1.0, ("ae", "denoising-ae", "sparse-ae", "conv-ae", "vae", "conv-vae"),
                  5000, 5000, 5, True, 1.0, 2048),
    "quick": Scale("quick", 5, 50, 0.25, 0.05, ("ae", "conv-ae"), 1000, 1000, 5, True, 0.3, 2048),
    "smoke": Scale("smoke", 1, 5, 0.01, 0.01, ("ae",), 200, 0, 0, False, 0.05, 256, False),
}


def _latency_ms(call, samples: int) -> dict:
    """Milliseconds of ``samples`` calls of ``call`` after one untimed call."""
    return figure(repeat(lambda: seconds_of(call) * 1000, samples, warm_up=1), "ms", "lower")


def _fit_epoch_seconds(config, data) -> float:
    """Seconds of one fit() epoch of a fresh model on ``data``, on the CPU (events, previews and the NaN guard
    included)."""
    state = TrainingState.create(config, data.input_shape, "cpu")
    start = time.perf_counter()
    for _ in fit(state, data):
        pass
    return time.perf_counter() - start


def fit_vs_bare(scale: Scale) -> dict:
    """Throughput (images/s) of one fit() epoch against a bare PyTorch loop doing the same work.

    The bare loop is the one a tutorial writes: shuffled batches, loss, backward, step, then the mean
    loss on the validation split. fit() adds events, previews, the NaN guard and its snapshot. The same
    loop fed by a shuffling DataLoader gives fit_vs_dataloader_ratio. The three take turns, one epoch each a
    round, for ``scale.repetitions`` rounds; a ratio's samples are its rounds' ratios.
    """
    config = preset_config("ae", fraction=scale.fit_fraction, epochs=1)
    data = load_dataset(config.data)
    x, val_x, batch_size = data.train.x, data.val.x, config.train.batch_size

    def bare_epoch(batches=None) -> float:
        torch.manual_seed(0)
        model = build_model(config.model, data.input_shape)
        optimizer = build_optimizer(model.parameters(), config.train)
        start = time.perf_counter()
        if batches is None:
            order = torch.randperm(len(x))
            batches = (x[order[first:first + batch_size]] for first in range(0, len(x), batch_size))
        for batch in batches:
            loss = torch.nn.functional.mse_loss(model(batch).recon, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            sum(float(torch.nn.functional.mse_loss(model(val_x[first:first + 1024]).recon,
                                                   val_x[first:first + 1024], reduction="sum"))
                for first in range(0, len(val_x), 1024))
        return time.perf_counter() - start

    def fit_epoch() -> float:
        return _fit_epoch_seconds(config, data)

    def dataloader_epoch() -> float:  # the same loop fed by a shuffling DataLoader, as most tutorials do
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch_size, shuffle=True)
        return bare_epoch(batch for (batch,) in loader)

    seconds = interleaved({"bare": bare_epoch, "fit": fit_epoch, "dataloader": dataloader_epoch}, scale.repetitions)
    per_s = {side: [len(x) / s for s in samples] for side, samples in seconds.items()}
    return {"fit_images_per_s": figure(per_s["fit"], "images/s", "higher"),
            "bare_images_per_s": figure(per_s["bare"], "images/s", "higher"),
            "dataloader_images_per_s": figure(per_s["dataloader"], "images/s", "higher"),
            "fit_vs_bare_ratio": figure(ratios(seconds["bare"], seconds["fit"]), "x", "higher"),
            "fit_vs_dataloader_ratio": figure(ratios(seconds["dataloader"], seconds["fit"]), "x", "higher")}


@dataclasses.dataclass(frozen=True)
class LayerFlops:
    """One nn.Linear, nn.Conv2d or nn.ConvTranspose2d as one image's forward pass calls it."""

    name: str
    kind: str  # the module's class name
    forward: int  # FLOPs of one image's forward pass through it, 2 per multiply-add
    input_gradient: bool  # whether backward computes its input's gradient (not for the images themselves)
    features: tuple[int, int] | None  # (in, out) of a Linear applied once per image: one (B, in) x (in, out) GEMM


@dataclasses.dataclass(frozen=True)
class FlopCount:
    """An image's matmul FLOPs through a model: a forward pass, and a training step's share (:func:`count_flops`)."""

    layers: tuple[LayerFlops, ...]

    @property
    def forward(self) -> int:
        """FLOPs of one image's forward pass."""
        return sum(layer.forward for layer in self.layers)

    @property
    def training(self) -> int:
        """FLOPs of one image's forward and backward passes: forward, the weights' gradients (as many FLOPs as
        forward) and the inputs' gradients of every layer but those fed the images (as many again)."""
        return 2 * self.forward + sum(layer.forward for layer in self.layers if layer.input_gradient)


def count_flops(model: torch.nn.Module, input_shape: tuple[int, ...]) -> FlopCount:
    """The matmul FLOPs of ``model`` per image, counted from the shapes of its nn.Linear, nn.Conv2d and
    nn.ConvTranspose2d layers as one forward pass of two blank images calls them (layers it does not call are not
    counted). The convention: 2 FLOPs per multiply-add (a Linear's forward is 2*in*out); a training step is
    forward + backward, the backward computing each layer's weight gradient (as many FLOPs as its forward) and its
    input gradient (as many again) except where the input needs no gradient (the layers the images go into), so
    about 3x forward. Biases, activations, the loss, normalisation and the optimiser step are not counted
    (O(width) per image against O(width^2)).
    """
    layers: list[LayerFlops] = []
    kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)

    def record(name: str):
        def hook(module, inputs, output):
            x, batch = inputs[0], inputs[0].shape[0]
            if isinstance(module, torch.nn.Linear):  # (..., in) -> (..., out): rows x in x out multiply-adds
                rows = output.numel() // (batch * module.out_features)
                flops = 2 * rows * module.in_features * module.out_features
                features = (module.in_features, module.out_features) if rows == 1 else None
            elif isinstance(module, torch.nn.Conv2d):  # each output value: in/groups x kh x kw multiply-adds
                kernel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                flops, features = 2 * output.numel() // batch * kernel, None
            else:  # ConvTranspose2d: each input value is spread over out/groups x kh x kw outputs
                kernel = module.out_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                flops, features = 2 * x.numel() // batch * kernel, None
            layers.append(LayerFlops(name, type(module).__name__, flops, x.requires_grad, features))
        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in model.named_modules()
               if isinstance(module, kinds)]
    training = model.training
    try:
        model.eval()
        with torch.enable_grad():
            model(torch.zeros(2, *input_shape))
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return FlopCount(tuple(layers))


def _flop_rate(step, flops: int, seconds: float) -> float:
    """FLOP/s of ``step()`` (``flops`` FLOPs a call), called again and again for at least ``seconds``."""
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * flops / elapsed


def _model_shaped_matmuls(count: FlopCount, batch: int):
    """A training step's GEMMs at batch size ``batch``, the shapes autograd gives an MLP's Linear layers (MLP
    only: convolutions are not GEMMs here): for each (in, out) layer the forward (B, in) x (in, out) plus bias,
    the weight gradient (out, B) x (B, in) and, where the input needs one, the input gradient (B, out) x (out, in).
    The step as a callable and its FLOPs."""
    if any(layer.features is None for layer in count.layers):
        raise ValueError("model-shaped matmuls are made for MLPs: a layer here is not one GEMM per image")
    tensors = [(torch.randn(batch, n_in), torch.randn(n_out, n_in), torch.randn(n_out), torch.randn(batch, n_out),
                layer.input_gradient) for layer in count.layers for n_in, n_out in [layer.features]]

    def step() -> None:
        for x, weight, bias, grad_out, input_gradient in tensors:
            torch.addmm(bias, x, weight.t())  # forward: (B, in) x (in, out)
            grad_out.t().mm(x)  # weight gradient: (out, B) x (B, in)
            if input_gradient:
                grad_out.mm(weight)  # input gradient: (B, out) x (out, in)
    return step, batch * count.training


def physical_limit(scale: Scale) -> dict:
    """fit()'s training of the preset "ae" MLP on MNIST against what this CPU's matmuls allow, on the threads
    training uses (this process's torch threads).

    The model's FLOPs per image are counted from its Linear layers' shapes (:func:`count_flops`: 2 per
    multiply-add, a training step about 3x the forward pass). Three sides take turns for ``scale.repetitions``
    rounds: one fit() epoch; the model's own GEMMs (a training step's forward and backward matmuls at its batch
    size, :func:`_model_shaped_matmuls`) for at least ``scale.matmul_seconds``; and an n x n by n x n matmul
    (``scale.square_size``) for as long, the machine's peak. achieved_gflops is the epoch's counted work
    (training FLOPs of every training image and forward FLOPs of every validation image, which fit() evaluates)
    over its seconds; the fractions are the rounds' achieved over the matmul rates. The matmuls alone are the
    limit: the activations, loss, optimiser and fit()'s events are the rest of the epoch.
    """
    config = preset_config("ae", fraction=scale.fit_fraction, epochs=1)
    data = load_dataset(config.data)
    model = build_model(config.model, data.input_shape)
    count = count_flops(model, data.input_shape)
    model_step, model_flops = _model_shaped_matmuls(count, config.train.batch_size)
    n = scale.square_size
    a, b = torch.randn(n, n), torch.randn(n, n)
    square_flops = 2 * n ** 3

    def square_step() -> None:
        a.mm(b)

    model_step(), square_step()  # untimed: the first calls allocate and pick kernels
    epoch_work = len(data.train.x) * count.training + len(data.val.x) * count.forward
    samples = interleaved({"fit": lambda: _fit_epoch_seconds(config, data),
                           "model_shaped": lambda: _flop_rate(model_step, model_flops, scale.matmul_seconds),
                           "square": lambda: _flop_rate(square_step, square_flops, scale.matmul_seconds)},
                          scale.repetitions)
    achieved = [epoch_work / seconds for seconds in samples["fit"]]
    giga = [[rate / 1e9 for rate in samples[side]] for side in ("model_shaped", "square")]
    return {"flops_per_image": figure([count.training], "FLOP", None, digits=12),
            "matmul_gflops": {"model_shaped": figure(giga[0], "GFLOP/s", "higher"),
                              "square": figure(giga[1], "GFLOP/s", "higher")},
            "achieved_gflops": figure([rate / 1e9 for rate in achieved], "GFLOP/s", "higher"),
            "physical_images_per_s": {
                "fit": figure([len(data.train.x) / seconds for seconds in samples["fit"]], "images/s", "higher"),
                "model_shaped_limit": figure([rate / count.training for rate in samples["model_shaped"]],
                                             "images/s", "higher")},
            "fraction_of_model_shaped_limit": figure(ratios(achieved, samples["model_shaped"]), "", "higher"),
            "fraction_of_square_peak": figure(ratios(achieved, samples["square"]), "", "higher")}


def cli_epoch_seconds(out: Path, fraction: float) -> tuple[float, float]:
    """One epoch of preset "ae" on ``fraction`` of MNIST by ``python -m aecore train`` into ``out``: fit()'s own
    seconds of the epoch (its history.json) and the whole process's."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-m", "aecore", "train", "--preset", "ae", "--fraction",
                    str(fraction), "--epochs", "1", "--out", str(out), "--quiet"],
                   cwd=ROOT, capture_output=True, text=True, timeout=900, check=True)
    process_s = time.perf_counter() - start
    return float(json.loads((out / "history.json").read_text())[-1]["seconds"]), process_s


def cli_vs_page(scale: Scale) -> dict:
    """One epoch of preset "ae" on ``scale.fit_fraction`` of MNIST trained by ``python -m aecore train`` against
    the same config trained as the Train page trains it: a TrainingJob in a LocalPool worker (one CPU slot,
    MNIST loaded by its warm-up as after the server's; its torch threads are aecore.jobs.pool.worker_threads',
    the CLI's torch's default). The two take turns for ``scale.repetitions`` rounds, a fresh CLI process and a
    fresh job each round.

    Each side's seconds are fit()'s own clock of its epoch (the Epoch event: the CLI's history.json, the job's
    snapshot history), so the CLI's start, imports and data loading are not in them: cli_process_s has its whole
    process. No browser: a page polling the job (one snapshot a second, in the server) is not in it.
    """
    if not scale.cli_vs_page:
        return {}
    from aecore.jobs import LocalPool
    from aecore.jobs.training_job import TrainingJob

    config = preset_config("ae", fraction=scale.fit_fraction, epochs=1)
    pool = LocalPool({"cpu": 1})
    process_s: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        def cli_epoch() -> float:
            epoch_s, whole_s = cli_epoch_seconds(Path(folder) / f"cli-{len(process_s)}", scale.fit_fraction)
            process_s.append(whole_s)
            return epoch_s

        def job_epoch() -> float:
            job = TrainingJob(load_dataset, pool)
            job.start(config)
            if not job.join(900):
                raise TimeoutError("the job's epoch took over 900 s")
            snapshot = job.snapshot()
            job.close()
            if not snapshot.history:
                raise RuntimeError(f"the job ended without an epoch: {snapshot.status} {snapshot.message}")
            return float(snapshot.history[-1]["seconds"])

        try:
            pool.warm_up(config.data).result(timeout=300)
            seconds = interleaved({"cli": cli_epoch, "page": job_epoch}, scale.repetitions)
        finally:
            pool.shutdown()
    return {"cli_vs_page": {"cli_epoch_s": figure(seconds["cli"], "s", "lower"),
                            "page_epoch_s": figure(seconds["page"], "s", "lower"),
                            "page_vs_cli_ratio": figure(ratios(seconds["cli"], seconds["page"]), "x", "higher"),
                            "cli_process_s": figure(process_s, "s", "lower")}}


def epoch_seconds(scale: Scale) -> dict:
    """Seconds for one MNIST epoch per preset (a fraction of one, scaled up in the quicker scales); the presets
    take turns, one epoch each a round, for ``scale.repetitions`` rounds."""
    def epoch(preset: str):
        config = preset_config(preset, fraction=scale.epoch_fraction, epochs=1)

        def measure() -> float:
            data = load_dataset(config.data)
            state = TrainingState.create(config, data.input_shape, "cpu")
            start = time.perf_counter()
            for _ in fit(state, data):
                pass
            return (time.perf_counter() - start) / scale.epoch_fraction
        return measure

    seconds = interleaved({preset: epoch(preset) for preset in scale.epoch_presets}, scale.repetitions)
    return {"epoch_s": {preset: figure(samples, "s", "lower") for preset, samples in seconds.items()}}


def training_start(scale: Scale) -> dict:
    """Seconds from Start (TrainingJob.start, MNIST preset ae) to the first reconstructions the Train page
    can draw, with a worker process already up and MNIST loaded in it, as after the server's warm-up (the
    page polls once a second); ``scale.repetitions`` runs, one after the other, in the same worker."""
    from aecore.jobs import LocalPool
    from aecore.jobs.training_job import TrainingJob

    config = preset_config("ae", epochs=1)
    pool = LocalPool({"cpu": 1})
    pool.warm_up(config.data).result(timeout=300)

    def first_preview() -> float:
        job = TrainingJob(load_dataset, pool)
        start = time.perf_counter()
        job.start(config)
        while job.snapshot().preview is None and job.snapshot().active:
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        job.stop()
        job.join(60)
        return seconds

    try:
        samples = repeat(first_preview, scale.repetitions)
    finally:
        pool.shutdown()
    return {"train_first_preview_s": figure(samples, "s", "lower")}


def _codes(points: int) -> np.ndarray:
    """The first ``points`` MNIST test codes of the shipped 32-d AE (t-SNE and UMAP use the same ones)."""
    return _test_codes()[:points]


@functools.cache
def _test_codes() -> np.ndarray:
    run = load_run(PRETRAINED_DIR / "mnist-ae-latent32")
    return encode_split(run.model, load_dataset(run.config.data).test)


def tsne_against_sklearn(scale: Scale) -> dict:
    """Our t-SNE (aecore.projection: openTSNE) against scikit-learn's TSNE defaults on the same
    ``scale.tsne_points`` codes, the two taking turns for ``scale.repetitions`` rounds; the speed-up's samples
    are the rounds' ratios, and each map's trustworthiness (k=5) is taken on every round."""
    from sklearn.manifold import TSNE, trustworthiness

    from aecore.projection import project

    codes = _codes(scale.tsne_points)
    trust: dict[str, list[float]] = {"ours": [], "sklearn": []}

    def timed_map(side: str, make_map):
        def measure() -> float:
            start = time.perf_counter()
            points = np.asarray(make_map())
            seconds = time.perf_counter() - start
            trust[side].append(float(trustworthiness(codes, points, n_neighbors=5)))
            return seconds
        return measure

    seconds = interleaved({"ours": timed_map("ours", lambda: project(codes, "tsne").points),
                           "sklearn": timed_map("sklearn", lambda: TSNE(random_state=0).fit_transform(codes))},
                          scale.repetitions)
    return {"tsne_s": figure(seconds["ours"], "s", "lower"), "sklearn_tsne_s": figure(seconds["sklearn"], "s", "lower"),
            "tsne_speedup_vs_sklearn": figure(ratios(seconds["sklearn"], seconds["ours"]), "x", "higher"),
            "tsne_trustworthiness": figure(trust["ours"], "", "higher"),
            "sklearn_trustworthiness": figure(trust["sklearn"], "", "higher")}


def umap_seconds(scale: Scale) -> dict:
    """The dashboard's UMAP (aecore.projection) in a fresh process: importing umap-learn, the first fit
    (numba compiles) and a warm second fit, on the same MNIST codes as t-SNE. The import reads
    numba's on-disk cache (aecore.projection.NUMBA_CACHE), which the first run on a machine fills. One fresh
    process a repetition."""
    if not scale.umap_points:
        return {}
    script = ("import time\n"
              "import numpy as np\n"
              "from aecore import projection\n"
              "start = time.perf_counter(); projection._import_umap(); imported = time.perf_counter() - start\n"
              "codes = np.load('{codes}')\n"
              "def timed():\n"
              "    start = time.perf_counter(); projection.project(codes, 'umap')\n"
              "    return time.perf_counter() - start\n"
              "print(imported, timed(), timed())\n")  # the first fit compiles, the second is warm
    with tempfile.TemporaryDirectory() as folder:
        codes_file = Path(folder) / "codes.npy"
        np.save(codes_file, _codes(scale.umap_points))

        def fresh_process() -> list[float]:
            output = subprocess.run([sys.executable, "-W", "ignore", "-c", script.format(codes=codes_file)],
                                    cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
            return [float(value) for value in output.stdout.split()[-3:]]

        runs = [fresh_process() for _ in range(scale.repetitions)]
    return {"umap_s": {part: figure([run[i] for run in runs], "s", "lower")
                       for i, part in enumerate(("import", "first", "warm"))}}


def latencies(scale: Scale) -> dict:
    """Interaction latencies with torch's default threads, as the dashboard serves them (milliseconds, one
    sample a call, ``scale.latency_samples`` calls): the PNG is compressed at level 1, as in
    aecore.pixels.png_bytes."""
    run = load_run(PRETRAINED_DIR / "mnist-ae-latent2")
    codes = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
    plane = LatentPlane.of_dimensions(codes)
    bank = np.random.default_rng(1).normal(size=(10_000, 32)).astype(np.float32)

    conv = load_run(PRETRAINED_DIR / "mnist-conv-ae")
    conv_plane = LatentPlane.of_principal_components(bank)

    def grid_png(model=run.model, plane=plane) -> bytes:
        images = decode_codes(model, plane.lift(grid_points((-3, 3), (-3, 3), 20)))
        buffer = io.BytesIO()
        to_pil(mosaic(images, 20, padding=0), scale=2).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    samples = scale.latency_samples
    return {
        "decode_ms": _latency_ms(lambda: decode_codes(run.model, plane.lift(np.zeros((1, 2)))), samples),
        "grid20_ms": _latency_ms(grid_png, samples),
        "grid20_conv_ms": _latency_ms(lambda: grid_png(conv.model, conv_plane), samples),
        "interp_ms": _latency_ms(lambda: decode_codes(run.model, interpolate(codes[0], codes[1], 10)), samples),
        "neighbours_ms": _latency_ms(lambda: nearest_neighbours(bank, bank[:1], 10), samples),
    }


def page_seconds(scale: Scale) -> dict:
    """Each page's script time in a fresh process (AppTest on app.py, pages in menu order, so a page's first
    visit pays for whatever the pages before it did not load), then a rerun as after a click (the caches
    warm). Script time only: the browser's drawing is in cold_start. One fresh process a repetition."""
    if not scale.pages:
        return {}
    script = ("import json, time\n"
              "from streamlit.testing.v1 import AppTest\n"
              "from aecore.ui.navigation import PAGES\n"
              "at = AppTest.from_file('app.py', default_timeout=300)\n"
              "first, again = {}, {}\n"
              "for spec in PAGES:\n"
              "    if spec.default:\n"
              "        start = time.perf_counter(); at.run()\n"
              "    else:\n"
              "        start = time.perf_counter(); at.switch_page(spec.path).run()\n"
              "    first[spec.title] = round(time.perf_counter() - start, 3)\n"
              "    start = time.perf_counter(); at.run(); again[spec.title] = round(time.perf_counter() - start, 3)\n"
              "    assert not at.exception, spec.path\n"
              "print(json.dumps({'page_first_s': first, 'page_again_s': again}))\n")

    def fresh_process() -> dict:
        with tempfile.TemporaryDirectory() as runs:
            output = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=ROOT, capture_output=True,
                                    text=True, timeout=900, check=True, env={**os.environ, "AECORE_RUNS_DIR": runs})
        return json.loads(output.stdout.strip().splitlines()[-1])

    runs = [fresh_process() for _ in range(scale.repetitions)]
    return {kind: {title: figure([run[kind][title] for run in runs], "s", "lower") for title in runs[0][kind]}
            for kind in ("page_first_s", "page_again_s")}


def _start_and_open(port: int) -> tuple[float, float]:
    """Seconds from `streamlit run serve.py` (as `make run`) to Home's heading in headless Chromium, and
    to the whole Home page (its example images and codes, which need torch, the model and the data)."""
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port",
                               str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu",
                                                       "--disable-background-networking"])
            page = browser.new_page()
            deadline = time.monotonic() + 120
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}", timeout=5000)
                    break
                except Exception:  # the server is not listening yet
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            page.get_by_role("heading", name="Autoencoder Lab").wait_for(timeout=120_000)
            heading = time.perf_counter() - start
            page.locator("[data-testid=stImage] img").nth(15).wait_for(timeout=120_000)
            whole = time.perf_counter() - start
            browser.close()
    finally:
        server.terminate()
        server.wait(15)
    return heading, whole


def cold_start(scale: Scale) -> dict:
    """:func:`_start_and_open` for ``scale.cold_starts`` fresh servers, one after the other (no figures without
    Chromium or cold starts)."""
    if not scale.cold_starts or not Path("/usr/bin/chromium").exists():
        return {}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    headings, wholes = zip(*(_start_and_open(port) for _ in range(scale.cold_starts)), strict=True)
    return {"cold_start_s": figure(headings, "s", "lower"), "cold_start_full_s": figure(wholes, "s", "lower")}


MEASUREMENTS = (latencies, fit_vs_bare, physical_limit, cli_vs_page, epoch_seconds, training_start,
                tsne_against_sklearn, umap_seconds, page_seconds, cold_start)


def run(scale_name: str) -> tuple[dict, dict]:
    """Every measurement at one scale: the figures (bench.stats.figure dicts, some nested), and the details
    (the scale's settings, the torch device)."""
    scale = SCALES[scale_name]
    figures: dict = {}
    took: dict[str, float] = {}  # where a run's time goes
    for measure in MEASUREMENTS:
        start = time.perf_counter()
        figures.update(measure(scale))
        took[measure.__name__] = round(time.perf_counter() - start, 1)
    figures["peak_rss_mb"] = figure([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024], "MB", "lower")
    details = {"scale": dataclasses.asdict(scale), "device": device_description(resolve_device("auto")),
               "cold_start_measured": "cold_start_s" in figures, "measurement_s": took}
    return figures, details

