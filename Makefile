# Set-up that a fresh machine needs: `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= models,media,test,lint,ray,milvus,hf,lancedb
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo test test-fast bench lint typecheck clean venv system-deps

venv: $(VENV)/.installed

# Keep a torch that is already importable (a CUDA build on a GPU box); otherwise take the pinned CPU
# build first, so nothing later pulls an unpinned torch with gigabytes of CUDA packages.
$(VENV)/.installed: pyproject.toml
	@if $(PYTHON) -c "import torch" >/dev/null 2>&1; then \
	  echo "using the torch already importable by $(PYTHON)"; \
	  $(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
	  $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip && \
	  $(PY) -m pip install -q torch==2.13.0; \
	fi
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	@touch $@

# Debian tools the tests use to make real media (speech) and drive the UI in a real terminal.
system-deps:
	@missing=""; for t in espeak-ng:espeak-ng tmux:tmux; do \
	  command -v $${t%%:*} >/dev/null || missing="$$missing $${t##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install$$missing for the full test suite"; fi; fi

demo: venv
	HF_HUB_OFFLINE=1 $(VENV)/bin/vexplore index sample_data
	HF_HUB_OFFLINE=1 $(VENV)/bin/vexplore search sample_data "planets orbiting a distant star" -k 5
	HF_HUB_OFFLINE=1 $(VENV)/bin/vexplore sample_data

test: venv system-deps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# The fast tier: CLI, store, crash and UI tests on the numpy-only toy models (no torch), in seconds.
test-fast: venv
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q -m fast $(PYTEST_ARGS)

bench: venv
	HF_HUB_OFFLINE=1 $(PY) benchmarks/run_all.py

CODE := vexplore engine tui tests benchmarks

lint: venv typecheck
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)

# mypy cannot follow setuptools' editable import hook, so it reads the installed layout from a tree of links.
TYPECHECK := build/typecheck
typecheck: venv
	@mkdir -p $(TYPECHECK)/vexplore
	@for d in engine tui; do ln -sfn ../../../$$d $(TYPECHECK)/vexplore/$$d; done
	@for f in vexplore/*.py; do ln -sfn ../../../$$f $(TYPECHECK)/$$f; done
	cd $(TYPECHECK) && ../../$(PY) -m mypy --config-file ../../pyproject.toml -p vexplore

clean:
	rm -rf $(VENV) sample_data/.vexplore .pytest_cache
