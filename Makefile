# gradq: `make run` starts everything on the embedded default, `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: run api worker test lint format services browser migrate bench gpu-check clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: the later install finds it satisfied and pulls no other build
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/gradq serve

api: $(STAMP)
	$(VENV)/bin/gradq migrate
	$(PY) -m uvicorn api.main:create_app --factory --host $${GRADQ_HOST:-127.0.0.1} --port $${GRADQ_PORT:-8000}

worker: $(STAMP)
	$(VENV)/bin/gradq worker

migrate: $(STAMP)
	$(VENV)/bin/gradq migrate

services:
	bash scripts/ensure_services.sh

browser:
	bash scripts/ensure_browser.sh

test: lint services browser
	$(PY) -m pytest -q

bench: $(STAMP) services
	$(PY) -m bench

# on a host with a CUDA device: the reference loops, a job end to end and the benchmark on the GPU
gpu-check: $(STAMP)
	PYTHON=$(PY) bash scripts/gpu_check.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy api core models training worker cli gradq_client bench tests

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
