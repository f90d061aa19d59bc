# The two commands a newcomer needs: `make local` (the whole stack on localhost) and `make test`.
# Everything else here is what those two stand on, plus deploy helpers and SAM's build targets.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements/dev.txt requirements/constraints.txt layers/common/requirements.txt

.PHONY: setup local test grants lint format validate build bench openapi fuzz storms replay clean

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	@touch $@

setup: $(STAMP) ## create .venv with every pinned dependency

local: $(STAMP) ## run the whole stack on localhost (moto, sevDesk emulator, HTTP API, timers)
	$(PY) -m devtools.local up

test: $(STAMP) ## lint, then every test tier, offline, then each function's grants against its calls
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	rm -rf .grants && mkdir .grants
	GRANTS_CALLS_DIR="$(CURDIR)/.grants" $(PY) -m pytest -n 2 --dist loadgroup
	$(PY) -m devtools.grants check

grants: $(STAMP) ## compare the AWS calls the last `make test` recorded with template.yaml's grants
	$(PY) -m devtools.grants check

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

validate: $(STAMP) ## sam validate --lint (offline)
	$(VENV)/bin/sam validate --lint

build: $(STAMP) ## sam build (offline, no Docker; makefile builders below)
	$(VENV)/bin/sam build

bench: $(STAMP) ## cold-start and layer-size figures (see scripts/benchmark.py)
	$(PY) scripts/benchmark.py

openapi: $(STAMP) ## regenerate docs/openapi.json from the route code
	$(PY) -m devtools.openapi > docs/openapi.json

FUZZ_CASES ?= 3000
fuzz: $(STAMP) ## fuzz the API from docs/openapi.json against the local stack: make fuzz FUZZ_CASES=10000 [FUZZ_SEED=n]
	$(PY) -m devtools.fuzz --cases $(FUZZ_CASES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

STORMS ?= 200
STORMS_MINUTES ?= 30
storms: $(STAMP) ## concurrent callers + sevDesk faults vs duplicates and stuck invoices: make storms STORMS=1000 [STORMS_SEED=n STORMS_MINUTES=m STORMS_ARGS=...]
	$(PY) -m devtools.storms --storms $(STORMS) --max-minutes $(STORMS_MINUTES) $(if $(STORMS_SEED),--seed $(STORMS_SEED)) $(STORMS_ARGS)

replay: $(STAMP) ## replay an events/ fixture against the running local stack: make replay FN=config_get
	$(PY) -m devtools.local replay $(FN) $(if $(EVENT),--event $(EVENT))

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .local .hypothesis .grants

# --- sam build targets ---
# build-CommonLayer and build-<Name>Function for `sam build` (see build.mk for how SAM calls them).
include $(dir $(lastword $(MAKEFILE_LIST)))build.mk
