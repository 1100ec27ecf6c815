"""The installed product: a wheel built from this repo, installed into a fresh virtualenv with the repo nowhere on
sys.path, runs `autoencoder-lab` from an empty folder; Home shows a shipped run's reconstructions in Chromium, and
a run trained through the installed package lands in the user's data folder, never in site-packages.

The fresh venv does not install torch and friends again: a .pth file lists this venv's site-packages (whose own
.pth files, the repo's editable install among them, are not read from there), and the wheel goes in with
--no-deps. The wheel is built offline (--no-build-isolation, with hatchling from requirements-dev.txt).
"""

import os
import re
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from streamlit_server import _free_port, launch_chromium, require_chromium, settle

pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling (requirements-dev.txt)")

ROOT = Path(__file__).resolve().parent.parent
MAX_WHEEL_MB = 60
BIN = "Scripts" if os.name == "nt" else "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--quiet",
                    "--wheel-dir", str(out), str(ROOT)], check=True, cwd=out)
    (built,) = out.glob("autoencoder_lab-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed (no dependencies), seeing this venv's packages through a .pth file;
    the environment to run it in: an empty working folder, a temporary per-user data folder, no AECORE_ setting."""
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / BIN / ("python.exe" if os.name == "nt" else "python")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True)
    home, cwd = root / "home", root / "empty"
    home.mkdir()
    cwd.mkdir()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AECORE_") and name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(XDG_DATA_HOME=str(home / "data"), PYTHONDONTWRITEBYTECODE="1",
               AECORE_PROJECTION_CACHE=str(home / "cache"), AECORE_IMAGE_CACHE=str(home / "images"))
    return {"python": python, "script": env_dir / BIN / "autoencoder-lab", "site": site, "env": env, "cwd": cwd,
            "data": home / "data" / "autoencoder-lab"}


def _run(installed: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run([*args], cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_wheel_carries_the_app_and_its_runs_but_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.stat().st_size <= MAX_WHEEL_MB * 1024 * 1024, f"{wheel.stat().st_size / 2**20:.1f} MB"
    for expected in ("autoencoder_lab/serve.py", "autoencoder_lab/app.py", "autoencoder_lab/views/home.py",
                     "autoencoder_lab/.streamlit/config.toml", "aecore/ui/icon.png", "aecore/tours/lecture-001.json",
                     "aecore/bundled/mnist/t10k-images-idx3-ubyte.gz",
                     "autoencoder_lab/checkpoints/pretrained/mnist-ae-latent2/model.safetensors",
                     "autoencoder_lab/checkpoints/labs/lecture-003-ae/config.json"):
        assert expected in names
    outside = ("tests/", "bench/", "checkpoints/")  # no top-level checkpoints/ in site-packages either
    assert not [name for name in names if name.startswith(outside) or "__pycache__" in name]


def test_the_installed_package_is_the_wheels_not_the_repos(installed):
    probe = ("import aecore, os, sys; print(aecore.__file__); "
             "print(any(os.path.realpath(p or '.') == os.path.realpath(sys.argv[1]) for p in sys.path))")
    file, repo_on_path = _run(installed, str(installed["python"]), "-c", probe, str(ROOT)).split()
    assert Path(file).is_relative_to(installed["site"]), file
    assert repo_on_path == "False"
    assert re.match(r"autoencoder-lab \d", _run(installed, str(installed["script"]), "--version"))


def test_autoencoder_lab_serves_home_with_a_shipped_runs_reconstructions(installed, tmp_path):
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(installed["script"]), "--port", str(port), "--host", "127.0.0.1"],
                                  cwd=installed["cwd"], env=installed["env"], stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while "teacher's link" not in log.read_text():  # printed once the job service is up
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as response:
            assert response.read() == b"ok"
        text = log.read_text()
        assert f":{port}" in text and "students open http://" in text, text
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url)
            settle(page)
            expect(page.get_by_text("Input → code → reconstruction")).to_be_visible(timeout=60_000)
            expect(page.get_by_text(re.compile("eight test images it never saw"))).to_be_visible()
            images = page.get_by_test_id("stImage").locator("img")
            expect(images.nth(15)).to_be_visible()  # 8 inputs and their 8 reconstructions at least
            page.wait_for_function(  # every picture decoded, not only its element drawn (a loaded CI takes a moment)
                """() => [...document.querySelectorAll('[data-testid=stImage] img')]
                    .filter((img) => img.complete && img.naturalWidth > 0).length >= 16""", timeout=30_000)
            browser.close()
        # the class's data (the teacher's key) went to the per-user data folder, nothing to site-packages
        assert (installed["data"] / "class" / "teacher.key").is_file()
    finally:
        server.terminate()
        server.wait(20)
    assert not (installed["site"] / "checkpoints" / "class").exists()


def test_a_run_trained_through_the_installed_package_lands_in_the_data_folder(installed):
    out = _run(installed, str(installed["script"]), "train", "--preset", "ae", "--dataset", "digits", "--epochs",
               "1", "--quiet")
    runs = installed["data"] / "runs"
    saved = [folder for folder in runs.iterdir() if (folder / "model.safetensors").is_file()]
    assert len(saved) == 1 and saved[0].name in out, out
    assert not (installed["site"] / "checkpoints" / "runs").exists()
    listed = _run(installed, str(installed["python"]), "-m", "aecore", "checkpoints")
    assert saved[0].name in listed and "mnist-ae-latent2" in listed  # the shipped runs, from site-packages


def test_launcher_options_come_before_a_command_and_the_rest_goes_to_it():
    from aecore.ui.launcher import _split

    assert _split(["--port", "8600", "--host", "0.0.0.0"]) == (["--port", "8600", "--host", "0.0.0.0"], [])
    assert _split(["--data-dir", "d", "train", "--epochs", "1"]) == (["--data-dir", "d"], ["train", "--epochs", "1"])
    assert _split(["--port=8600", "--", "--server.maxUploadSize", "9"]) == (["--port=8600"],
                                                                             ["--", "--server.maxUploadSize", "9"])


def test_data_dir_moves_every_writable_folder(tmp_path, monkeypatch):
    from aecore.ui.launcher import use_data_dir

    for name in ("AECORE_HOME", "AECORE_RUNS_DIR", "AECORE_DATA_DIR", "AECORE_PROJECTION_CACHE",
                 "AECORE_IMAGE_CACHE", "AECORE_DATASET_CACHE"):
        monkeypatch.delenv(name, raising=False)
    use_data_dir(tmp_path)
    assert os.environ["AECORE_RUNS_DIR"] == str(tmp_path / "runs")
    assert os.environ["AECORE_DATA_DIR"] == str(tmp_path / "class")
    assert all(os.environ[name].startswith(str(tmp_path)) for name in ("AECORE_PROJECTION_CACHE",
                                                                       "AECORE_IMAGE_CACHE", "AECORE_DATASET_CACHE"))


def test_a_checkout_keeps_its_folders():
    from aecore.paths import default_class_dir, default_runs_dir, in_source_checkout

    assert in_source_checkout()
    if not os.environ.get("AECORE_HOME"):
        assert default_runs_dir() == ROOT / "checkpoints" / "runs"
        assert default_class_dir() == ROOT / "checkpoints" / "class"
