"""What is deployed is what is tested: `sam build` with build.mk's own rules (wheel tags for this
machine instead of arm64), then every function's BUILT handler in a python3.13 environment that
holds only what the Lambda runtime provides (boto3), driven with its `events/` fixture against
moto and the sevDesk emulator. A dependency missing from the layer's requirements, or a module
build.mk does not copy, fails here although the source-tree tests pass.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devtools.local.runtime import FunctionError
from devtools.local.stack import LocalStack, Ports

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"
RUNTIME_PYTHON = REPO_ROOT / ".venv-lambda" / "bin" / "python"
EVENTS = REPO_ROOT / "events"
RESOURCES = yaml_parse((REPO_ROOT / "template.yaml").read_text())["Resources"]
FUNCTIONS = {
    Path(r["Properties"]["CodeUri"]).name: lid
    for lid, r in RESOURCES.items()
    if r["Type"] == "AWS::Serverless::Function"
}

# Every function, in an order that walks an invoice through its life, with the answer its
# fixture must get: an HTTP status, (for non-HTTP functions) keys of the result, or the class name
# of the error it raises (the DATEV steps' fixtures name a job only a real run has).
RUN: list[tuple[str, int | dict[str, Any] | str]] = [
    ("config_get", 200),
    ("config_put", 200),
    ("connection_test", 200),
    ("templates_list", 200),
    ("billing_invoice_put", 201),
    ("billing_invoice_get", 200),
    ("billing_invoice_events", 200),
    ("billing_invoice_list", 200),
    ("audit_event_chains", 200),
    ("invoice_publish", 200),
    ("invoice_send", 200),
    ("invoice_pdf", 200),
    ("invoice_xml", 409),  # the fixture's invoice is a plain one: not_an_einvoice
    ("billing_einvoice_readiness", 200),
    ("invoice_cancel", 200),
    ("invoice_auto_publish", {"status": "skipped"}),
    ("datev_export_start", 202),
    ("datev_export_list", 200),
    ("datev_export_status", 404),
    ("datev_export_download", 404),
    ("datev_export_precondition", "ExportJobNotRunning"),
    ("datev_export_create", "ExportJobNotRunning"),
    ("datev_export_progress", "SevdeskNotFound"),
    ("datev_export_store", "SevdeskNotFound"),
    ("contacts_sync", 200),  # the customer the publish created: returned unchanged
    ("contacts_list", 200),
    ("vouchers_create", 201),
    ("vouchers_list", 200),
    ("kpi_revenue", 200),
    ("purchase_completed", {"status": "handed_over"}),  # autoTransferInvoices is off (config_put)
    ("reconciliation_get", 200),
    ("reconciliation_nightly", {"counts": {}}),  # published and cancelled in step: no drift
    ("payment_sync", {"status": "completed", "reconciliation": "complete"}),
    ("payment_sync_refresh", 200),
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("built_artifacts"),
    pytest.mark.skipif(not SAM.exists(), reason="SAM CLI (sam) not installed next to the interpreter"),
    pytest.mark.skipif(
        not RUNTIME_PYTHON.exists(),
        reason="no .venv-lambda (python3.13 with boto3 only): made by `make setup` where python3.13 exists",
    ),
]


def _local_platform() -> str:
    return {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}[platform.machine()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam-build-local")
    version = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "LAYER_PLATFORM": _local_platform(),
        "LAYER_PYTHON_VERSION": version,
    }
    result = subprocess.run(
        [str(SAM), "build", "--no-cached", "--build-dir", str(out), "--template-file", "template.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "Build Succeeded" in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )
    return out


@pytest.fixture(scope="module")
def stack(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack.start(
        REPO_ROOT / "template.yaml",
        Ports.ephemeral(),
        timers=False,
        build_dir=built,
        python=str(RUNTIME_PYTHON),
    ) as running:
        yield running


def test_the_runtime_environment_holds_only_boto3() -> None:
    listed = subprocess.run(
        [str(RUNTIME_PYTHON), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    provided = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3", "pip"}
    assert names <= provided, names - provided
    assert "pydantic" not in names


def test_the_built_layer_is_for_this_machine(built: Path) -> None:
    compiled = list((built / "CommonLayer" / "python").glob("pydantic_core/*.so"))
    assert compiled and platform.machine() in compiled[0].name


def test_every_function_is_driven() -> None:
    assert {name for name, _ in RUN} == set(FUNCTIONS), "add the new function to RUN"


def test_each_built_handler_answers_its_fixture(stack: LocalStack, built: Path) -> None:
    for name, expected in RUN:
        event = json.loads((EVENTS / f"{name}.json").read_text())
        try:
            result = stack.invoke(FUNCTIONS[name], event)
        except FunctionError as error:  # an import error of the built layer shows up here
            if error.payload.get("errorType") != expected:
                pytest.fail(f"{name}: {error.payload}")
            continue
        assert not isinstance(expected, str), (name, "answered instead of raising", result)
        if isinstance(expected, int):
            assert result["statusCode"] == expected, (name, result.get("body"))
        else:
            assert {k: result.get(k) for k in expected} == expected, (name, result)
    # The instances really ran the artifacts: the layer from the build dir, nothing from the repo.
    assert (
        stack.functions.runtime.launches["InvoicePublishFunction"].code_dir
        == built / "InvoicePublishFunction"
    )
