# alertbridge developer commands. Everything runs on Python 3.13 from uv.lock; `make setup` creates
# the virtualenv (and installs uv into the Python 3.13 interpreter if it is missing).
SHELL := /bin/bash
PYTHON ?= $(shell pyenv prefix 3.13.0 2>/dev/null | sed 's|$$|/bin/python3.13|' || command -v python3.13)
ifeq ($(strip $(PYTHON)),)
PYTHON := python3.13
endif
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
SAM := tooling/sam/.venv/bin/sam
CHECKS := tooling/checks/.venv/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

PORT ?= 3000

.PHONY: setup local demo test lint template security audit bench schema events vendor-docs screenshots clean

setup: $(VENV)/.synced
$(VENV)/.synced: uv.lock pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)  # bytecode: faster tests, real cold starts
	@touch $@

$(SAM): tooling/sam/uv.lock
	$(UV) sync --frozen --project tooling/sam --python $(PYTHON)

$(CHECKS)/checkov: tooling/checks/uv.lock
	$(UV) sync --frozen --project tooling/checks --python $(PYTHON)

local: setup  ## the whole stack on http://127.0.0.1:$(PORT) (Ctrl-C stops it)
	$(VENV)/bin/alertbridge local --port $(PORT)

demo: setup  ## a service with every source, the vendor samples fired at it, incidents printed
	$(VENV)/bin/alertbridge demo

test: setup  ## the test suite
	$(VENV)/bin/python -m pytest -n 2 --dist loadfile -q -m "not slow"

lint: setup  ## ruff, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

template: setup $(SAM)  ## cfn-lint, sam validate --lint, the SAM transform against the local stack, sam build
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/python -m alertbridge_tools.transform_check
	$(SAM) validate --lint
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM) build

security: $(CHECKS)/checkov  ## checkov over template.yaml (skips justified in .checkov.yaml and inline)
	$(CHECKS)/checkov -f template.yaml --config-file .checkov.yaml

audit: setup $(CHECKS)/checkov  ## pip-audit of every locked dependency (needs PyPI's JSON API)
	$(UV) export --frozen --no-hashes --no-header --no-annotate --no-emit-project -q -o .audit-requirements.txt
	$(CHECKS)/pip-audit --strict --disable-pip --no-deps -r .audit-requirements.txt

events: setup  ## regenerate events/<source>/*.json from the vendor samples
	$(VENV)/bin/python -m alertbridge_tools.make_events
	$(VENV)/bin/python -m alertbridge_tools.vendor_docs

vendor-docs: setup  ## regenerate the "Severity and lifecycle" table of every vendors/<source>/README.md
	$(VENV)/bin/python -m alertbridge_tools.vendor_docs

bench: setup  ## benchmarks with their floors: table + bench/results.json (run `make template` first for sizes)
	$(VENV)/bin/python bench/run.py

schema: setup  ## regenerate schema/*.json (the bus contracts) after a deliberate contract change
	$(VENV)/bin/python -m alertbridge_tools.schema

screenshots: setup  ## docs/status-page-{desktop,phone}.png: the public page in Debian's chromium
	$(VENV)/bin/python -m alertbridge_tools.screenshots

clean:
	rm -rf .aws-sam $(VENV) tooling/sam/.venv .pytest_cache .mypy_cache .ruff_cache
