# SAM build rules, included at the end of Makefile.
#
# Every resource in template.yaml uses `Metadata: {BuildMethod: makefile, ContextPath: ./}`.
# SAM's CustomMakeBuilder then runs `make --makefile <repo>/Makefile build-<LogicalId>` with the
# working directory set to a scratch copy of the resource's CodeUri/ContentUri and ARTIFACTS_DIR
# set to the output directory. Nothing here needs Docker or a local python3.13: pip fetches the
# Lambda target's wheels by platform tags.
#
# Caveat: `sam build --cached` keys its cache on the CodeUri contents only, not on these rules;
# after editing them run `sam build --no-cached` once.

SAM_REPO := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))

# The Lambda target (template.yaml Globals: python3.13 on arm64). The built-artifact test builds the
# same layer for this machine (LAYER_PLATFORM=manylinux2014_x86_64, say) to run it here.
LAYER_PYTHON_VERSION ?= 3.13
LAYER_PLATFORM ?= manylinux2014_aarch64
# Any Python >= 3.11 with pip will do; prefer the project's venv when it exists.
LAYER_PIP ?= $(firstword $(wildcard $(SAM_REPO).venv/bin/python) python3) -m pip
# Provided by the Lambda runtime. aws-xray-sdk pulls botocore (and with it urllib3, dateutil, six)
# in; a copy under /opt/python would shadow the runtime's SDK, so they are removed after install.
LAYER_RUNTIME_PROVIDED := boto3 botocore s3transfer urllib3 dateutil python_dateutil six

.PHONY: build-CommonLayer

# Guard against a manual `make build-...` writing to /python: only sam build sets ARTIFACTS_DIR.
sam_artifacts = $(if $(ARTIFACTS_DIR),$(ARTIFACTS_DIR),$(error ARTIFACTS_DIR is not set; run these targets through sam build))

build-CommonLayer:
	@: $(sam_artifacts)
	$(LAYER_PIP) install --quiet --disable-pip-version-check --no-compile \
		--platform $(LAYER_PLATFORM) --implementation cp --python-version $(LAYER_PYTHON_VERSION) \
		--only-binary=:all: --target "$(ARTIFACTS_DIR)/python" \
		-r requirements.txt -c "$(SAM_REPO)requirements/constraints.txt"
	cd "$(ARTIFACTS_DIR)/python" && rm -rf bin \
		$(foreach p,$(LAYER_RUNTIME_PROVIDED),$(p) $(p).py $(p)-*.dist-info)
	cp -R sevdesk_common "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python/sevdesk_common" \
		\( -name __pycache__ -o -name tests -o -name '*.pyc' \) -prune -exec rm -rf {} +
	@for p in boto3 botocore; do \
		if [ -e "$(ARTIFACTS_DIR)/python/$$p" ]; then echo "$$p must not be in the layer" >&2; exit 1; fi; \
	done

# One rule for every function (logical id <CamelName>Function, CodeUri functions/<snake_name>/):
# the handlers are single files, everything else comes from the layer.
build-%Function:
	@: $(sam_artifacts)
	cp app.py "$(ARTIFACTS_DIR)/"
