# stackrig: two commands on a fresh Debian machine (as root, or with sudo for apt):
#   make run    install what the main job needs, then run it on the bundled example
#   make test   install the same plus test tools, then run every gate CI runs
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages, one file per family: deps/apt/run-*.txt for make run, test-*.txt for make test,
# bench-*.txt for make bench.
APT_RUN := $(sort $(wildcard deps/apt/run-*.txt))
APT_TEST := $(sort $(wildcard deps/apt/test-*.txt))
APT_BENCH := $(sort $(wildcard deps/apt/bench-*.txt))
# Extra venv installs that need their own step (e.g. a controller with pinned deps), one script per family.
VENV_HOOKS := $(sort $(wildcard deps/venv/*.sh))
# The package's extras the venvs get (every family's: stackrig[all]).
EXTRAS ?= all
# make dist: the sdist and the wheel. make wheelhouse: that wheel plus the wheels of every dependency
# of stackrig[$(WHEELHOUSE_EXTRAS)], so `pip install --no-index --find-links $(WHEELHOUSE) stackrig[...]`
# works without a network (the packaging tests, a container image). Both folders are gitignored.
DIST ?= dist
WHEELHOUSE ?= .wheelhouse
WHEELHOUSE_EXTRAS ?= all
PACKAGE_FILES := pyproject.toml README.md LICENSE NOTICE $(shell find src -type f ! -path '*/__pycache__/*' 2>/dev/null)

# make image: the stackrig image, from the wheelhouse's wheels (pip --no-index in the build), on the
# Docker daemon DOCKER_HOST names; IMAGE_BUILD_FLAGS go to docker build.
IMAGE ?= stackrig
IMAGE_BUILD_FLAGS ?=

.PHONY: run test bench lint docs dist wheelhouse image container-cache apt-run apt-test apt-bench venv \
	venv-test clean help

help:
	@echo "make run    install and run the main job on the bundled example"
	@echo "make test   install test tools and run every gate (lint, types, tests, coverage, docs)"
	@echo "make bench  speed figures side by side with the tools users would otherwise use"
	@echo "make lint   ruff check, ruff format --check, mypy --strict"
	@echo "make docs   regenerate docs/cli.md from the CLI"
	@echo "make dist   build the sdist and the wheel into $(DIST)/"
	@echo "make wheelhouse  the wheel and every dependency's wheel in $(WHEELHOUSE)/ (pip --no-index)"
	@echo "make image  build the stackrig image (fio, graphs, dashboard) on the daemon DOCKER_HOST names"

apt-run:
	scripts/apt-install.sh $(APT_RUN)

apt-test: apt-run
	scripts/apt-install.sh $(APT_TEST)

apt-bench: apt-test
	scripts/apt-install.sh $(APT_BENCH)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { scripts/apt-install.sh deps/apt/run-core.txt && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV_HOOKS) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS),test]'
	for hook in $(VENV_HOOKS); do VENV=$(VENV) bash "$$hook"; done
	scripts/coverage-pth.sh $(BIN)/python
	touch $@ $(VENV)/.installed-run

venv: apt-run $(VENV)/.installed-run
venv-test: apt-test $(VENV)/.installed-test

run: venv
	$(BIN)/stackrig bench aio examples/jobs/quick.fio

lint: venv-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

# What the container tests need from the Debian mirror (base image, apt layers), made before pytest
# and cached outside the clone (tests/containers/prepare.py).
container-cache: venv-test
	$(BIN)/python -m tests.containers.prepare

docs: venv
	$(BIN)/python -m stackrig.cli.docs > docs/cli.md.tmp && mv docs/cli.md.tmp docs/cli.md

test: lint container-cache wheelhouse
	VENV=$(VENV) STACKRIG_WHEELHOUSE=$(abspath $(WHEELHOUSE)) scripts/test.sh

# --no-isolation: hatchling comes from the test venv, so a build downloads nothing.
$(DIST)/.built: $(PACKAGE_FILES) | $(VENV)/.installed-test
	rm -rf $(DIST)
	$(BIN)/python -m build --no-isolation --outdir $(DIST) . > /dev/null
	touch $@

dist: $(DIST)/.built

# The dependencies' wheels are made once per pyproject.toml (pip's cache serves them after the first
# time); the stackrig wheel is replaced whenever the sources change.
# An older stackrig wheel left in the wheel folder would be taken in place of the new one, with its
# older dependencies (a dependency added since would then be missing): it goes first.
$(WHEELHOUSE)/.deps-$(WHEELHOUSE_EXTRAS): pyproject.toml | $(DIST)/.built
	rm -f $(WHEELHOUSE)/.deps-* $(WHEELHOUSE)/.stackrig $(WHEELHOUSE)/stackrig-*.whl
	mkdir -p $(WHEELHOUSE)
	$(BIN)/python -m pip wheel -q --wheel-dir $(WHEELHOUSE) "$$(ls $(DIST)/stackrig-*.whl)[$(WHEELHOUSE_EXTRAS)]"
	touch $@

$(WHEELHOUSE)/.stackrig: $(DIST)/.built $(WHEELHOUSE)/.deps-$(WHEELHOUSE_EXTRAS)
	rm -f $(WHEELHOUSE)/stackrig-*.whl
	cp $(DIST)/stackrig-*.whl $(WHEELHOUSE)/
	touch $@

wheelhouse: $(WHEELHOUSE)/.stackrig

image: wheelhouse
	VENV=$(VENV) WHEELHOUSE=$(WHEELHOUSE) IMAGE=$(IMAGE) scripts/image.sh $(IMAGE_BUILD_FLAGS)

bench: apt-bench venv-test container-cache wheelhouse
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python "$$script"; done

clean:
	rm -rf $(VENV) $(DIST) $(WHEELHOUSE) .coverage .coverage.* htmlcov .pytest_cache .mypy_cache .ruff_cache
