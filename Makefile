# Two entry points: `make run` (whole workflow on config.yaml) and `make test` (the test suite).
# Each creates .venv and installs exactly the versions of requirements.lock when needed.
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= all
LOCK   := requirements.lock
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The lock names torch's CPU build (torch==X+cpu; PyPI's Linux torch is a CUDA build of several
# GB). Where no local wheel folder offers it, pip and uv take it from PyTorch's CPU index.
TORCH_WHEELS := $(if $(wildcard /opt/wheels/torch-*+cpu-*.whl),/opt/wheels,)
PIP_TORCH    ?= $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu)
UV_TORCH     ?= $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--torch-backend cpu)
# `make lock` keeps every pin of the lock that pyproject still allows; UPGRADE=--upgrade (or
# UPGRADE="-P transformers") moves all (or one) to the newest release.
UPGRADE ?=
LATEST  ?= .venv-latest

.PHONY: run test test-latest lint install lock envs clean report

# --no-deps: the lock is the whole closure, nothing outside it is installed; `pip check` fails
# when it is not complete. The package itself is built with the locked setuptools.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps $(PIP_TORCH) -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# The venv's bin first on PATH: the shell jobs call the `esm-schnet` console script.
run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) $(ARGS)

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint

# Regenerate the lock from pyproject.toml (Linux x86_64, CPython 3.11, CPU torch), then the
# files generated from it (envs/*.yaml, envs/Dockerfile).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 $(UV_TORCH) $(UPGRADE) \
		--custom-compile-command 'make lock' --quiet -o $(LOCK)
	$(MAKE) envs

# The conda env files and the Dockerfile, written from the lock (envs/generate.py).
envs: $(STAMP)
	$(BIN)/python envs/generate.py

# The suite against the newest releases pyproject allows, without the lock, in its own venv:
# finds drift on purpose. torch stays the lock's CPU build (a newer PyPI torch is a CUDA build).
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	grep '^torch==' $(LOCK) | $(LATEST)/bin/python -m pip install --quiet $(PIP_TORCH) -r /dev/stdin
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[test,cluster,docs,dev]'
	$(LATEST)/bin/python -m pip list --format=freeze > $(LATEST)/versions.txt
	PATH="$(abspath $(LATEST)/bin):$$PATH" $(LATEST)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf results logs benchmarks .snakemake
