# Two commands on a fresh machine: `make run` starts the dashboard, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo -n)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint checkpoints bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch and torchvision come from this machine's local disk (pinned in requirements.txt).
# hatchling (the build backend) and editables come first: the editable install builds with no isolation, offline.
$(RUNTIME_STAMP): requirements.txt pyproject.toml hatch_build.py | $(PY)
	$(PY) -m pip install -r requirements.txt "hatchling>=1.25" editables
	@$(PY) -m pip uninstall -y -q aecore 2>/dev/null || true  # the distribution's name before autoencoder-lab
	$(PY) -m pip install --no-deps --no-build-isolation -e . || $(PY) -m pip install --no-deps -e .
	@[ -d $(FASHION_MNIST) ] || [ -d $(HOME)/.cache/aecore/fashion-mnist ] || \
		{ echo "installing Debian's dataset-fashion-mnist (the Fashion-MNIST files, from the package registry)"; \
		  $(APT_INSTALL) dataset-fashion-mnist || { $(SUDO) apt-get update -q && $(APT_INSTALL) dataset-fashion-mnist; }; } || \
		echo "Fashion-MNIST was not installed: the dashboard works without it (see README, Data)"
	@echo "compiling UMAP's numba code once into its on-disk cache (about 30 s)"
	$(PY) -W ignore -c "from aecore.projection import warm_up_umap; warm_up_umap()"
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

# The console script's entry point (`autoencoder-lab`): `make run ARGS="--port 8600 --host 0.0.0.0"`.
run: $(RUNTIME_STAMP)
	$(PY) -m aecore.ui.launcher $(ARGS)

test: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

# Retrain the shipped MNIST runs (checkpoints/pretrained) and lab runs (checkpoints/labs): minutes on 2 cores.
checkpoints: $(RUNTIME_STAMP)
	$(PY) -m aecore.retrain_shipped

# Benchmarks (figures, never pass/fail): writes bench/results/<date>-<time>-<commit>-suite.json (commit it)
# and prints its table; python -m bench.report puts the newest files' tables into bench/README.md.
bench: $(DEV_STAMP)
	$(PY) -m bench

clean-venv:
	rm -rf $(VENV)
