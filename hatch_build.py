"""Hatchling hooks (offline, no plugin to download): the dependencies and the wheel's layout.

- The wheel's dependencies are requirements.txt's lines: one list for `make run` and `pip install`.
- The wheel keeps the repo's layout apart from the package: ``aecore/`` is the package (with its bundled MNIST,
  tours and icon); the dashboard's entry file, pages and Streamlit config go to ``site-packages/autoencoder_lab/``
  (Streamlit 1.67 reads ``.streamlit/config.toml`` beside the entry file, and ``st.Page`` paths are relative to
  it; aecore.ui.launcher runs it); the shipped runs go beside them, in ``autoencoder_lab/checkpoints/``
  (aecore.paths.shipped_runs_dir), never as a top-level ``checkpoints`` folder in site-packages. An editable
  install (``make``) maps nothing: the checkout is the app folder.
"""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

APP_FILES = {  # repo path -> path in the wheel
    "app.py": "autoencoder_lab/app.py",
    "serve.py": "autoencoder_lab/serve.py",
    "views": "autoencoder_lab/views",
    ".streamlit/config.toml": "autoencoder_lab/.streamlit/config.toml",
    "checkpoints/pretrained": "autoencoder_lab/checkpoints/pretrained",
    "checkpoints/labs": "autoencoder_lab/checkpoints/labs",
}


class RequirementsFile(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        lines = (Path(self.root) / "requirements.txt").read_text().splitlines()
        metadata["dependencies"] = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


class AppFiles(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"].update({str(Path(self.root) / repo): there
                                                for repo, there in APP_FILES.items()})
