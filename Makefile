# The two commands a newcomer needs: `make local` (the whole stack on localhost) and `make test`.
# Everything else here is what those two stand on, plus deploy helpers and SAM's build targets.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What mypy checks (settings in pyproject.toml).
TYPED := layers/common/sevdesk_common functions
REQUIREMENTS := requirements/dev.txt requirements/constraints.txt layers/common/requirements.txt
# What the Lambda python3.13 runtime provides and nothing else (boto3): the built artifacts run there.
LAMBDA_RUNTIME := .venv-lambda
LAMBDA_STAMP := $(LAMBDA_RUNTIME)/.installed

.PHONY: setup local test test-fast grants lint typecheck format validate build bench openapi alarms fuzz storms replay put-event replay-dlq verify-chains clean

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	@touch $@

$(LAMBDA_STAMP): requirements/constraints.txt
	@rm -rf $(LAMBDA_RUNTIME)
	@if py=$$(scripts/find-python 3.13); then \
		$$py -m venv $(LAMBDA_RUNTIME) && \
		$(LAMBDA_RUNTIME)/bin/python -m pip install --quiet --disable-pip-version-check boto3 \
			-c requirements/constraints.txt; \
	else \
		mkdir -p $(LAMBDA_RUNTIME); echo "no python3.13: the built-artifact tests will skip"; \
	fi
	@touch $@

setup: $(STAMP) $(LAMBDA_STAMP) ## create .venv with every pinned dependency (and .venv-lambda)

local: $(STAMP) ## run the whole stack on localhost (moto, sevDesk emulator, HTTP API, timers)
	$(PY) -m devtools.local up

test: $(STAMP) $(LAMBDA_STAMP) ## lint and type check, then every test tier, offline, then each function's grants against its calls
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy $(TYPED)
	rm -rf .grants && mkdir .grants
	GRANTS_CALLS_DIR="$(CURDIR)/.grants" $(PY) -m pytest -n 2 --dist loadgroup
	$(PY) -m devtools.grants check

grants: $(STAMP) ## compare the AWS calls the last `make test` recorded with template.yaml's grants
	$(PY) -m devtools.grants check

lint: $(STAMP) ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy $(TYPED)

typecheck: $(STAMP) ## mypy with the pydantic plugin: strict for the layer package (pyproject.toml)
	$(PY) -m mypy $(TYPED)

test-fast: $(STAMP) ## the inner loop: unit and integration tests only, no lint, no stack, no build
	$(PY) -m pytest -n 2 --dist loadgroup -q tests/unit tests/integration

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

validate: $(STAMP) ## sam validate --lint (offline)
	$(VENV)/bin/sam validate --lint

build: $(STAMP) ## sam build (offline, no Docker; makefile builders below)
	$(VENV)/bin/sam build

bench: $(STAMP) ## cold-start and layer-size figures (see scripts/benchmark.py)
	$(PY) scripts/benchmark.py

openapi: $(STAMP) ## regenerate docs/openapi.json and events/schemas/ from the code
	$(PY) -m devtools.openapi > docs/openapi.json
	$(PY) -m devtools.event_schemas

alarms: $(STAMP) ## regenerate template.yaml's alarms per function, dead-letter queue and state machine
	$(PY) -m devtools.alarms

FUZZ_CASES ?= 3000
fuzz: $(STAMP) ## fuzz the API from docs/openapi.json against the local stack: make fuzz FUZZ_CASES=10000 [FUZZ_SEED=n]
	$(PY) -m devtools.fuzz --cases $(FUZZ_CASES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

STORMS ?= 200
STORMS_MINUTES ?= 30
storms: $(STAMP) ## concurrent callers + sevDesk faults vs duplicates and stuck invoices: make storms STORMS=1000 [STORMS_SEED=n STORMS_MINUTES=m STORMS_ARGS=...]
	$(PY) -m devtools.storms --storms $(STORMS) --max-minutes $(STORMS_MINUTES) $(if $(STORMS_SEED),--seed $(STORMS_SEED)) $(STORMS_ARGS)

replay: $(STAMP) ## replay an events/ fixture against the running local stack: make replay FN=config_get
	$(PY) -m devtools.local replay $(FN) $(if $(EVENT),--event $(EVENT))

put-event: $(STAMP) ## put an EventBridge event on the running local stack: make put-event [EVENT=events/purchase_completed.json]
	$(PY) -m devtools.local put-event $(or $(EVENT),events/purchase_completed.json)

replay-dlq: $(STAMP) ## re-drive dead-letter queues to their targets, local stack or STACK=<deployed stack>: make replay-dlq [QUEUE=AutoPublishDeadLetterQueue] [DRY_RUN=1]
	$(PY) -m devtools.dlq replay $(if $(QUEUE),--queue $(QUEUE)) $(if $(STACK),--stack-name $(STACK)) $(if $(DRY_RUN),--dry-run)

verify-chains: $(STAMP) ## verify every invoice's event log (GoBD hash chain) through the admin route: local stack, or API_URL=... TOKEN=...
	$(PY) -m devtools.audit verify-chains $(if $(API_URL),--api-url $(API_URL)) $(if $(TOKEN),--token $(TOKEN))

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .local .hypothesis .grants $(LAMBDA_RUNTIME)

# --- sam build targets ---
# build-CommonLayer and build-<Name>Function for `sam build` (see build.mk for how SAM calls them).
include $(dir $(lastword $(MAKEFILE_LIST)))build.mk
