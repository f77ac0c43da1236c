# Two entry points: `make run` (whole workflow on config.yaml) and `make test` (the test suite).
# Each creates .venv and installs the package with pip when needed.
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= all
# torch is installed first, pinned: on Linux PyPI's newest torch pulls several GB of CUDA packages;
# where a local CPU wheel of this version is offered (as on our CI machines), pip takes it.
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install clean report

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
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

clean:
	rm -rf results logs benchmarks .snakemake
