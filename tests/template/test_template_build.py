"""`sam build` works offline (no Docker, no python3.13, no AWS) and yields lean artifacts.

The layer carries the cp313/aarch64 wheels and the sevdesk_common package, never boto3/botocore
(the Lambda runtime provides them); each function artifact is just its app.py. Needs PyPI (pip).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"
RESOURCES = yaml_parse((REPO_ROOT / "template.yaml").read_text())["Resources"]
FUNCTIONS = sorted(lid for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function")
LAYER = "CommonLayer"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
MAX_FUNCTION_BYTES = 64 * 1024  # a thin handler; anything bigger means something got bundled

pytestmark = [
    pytest.mark.slow,
    # One build for the whole module, also under pytest-xdist (--dist loadgroup).
    pytest.mark.xdist_group("sam_build"),
    pytest.mark.skipif(not SAM.exists(), reason="SAM CLI (sam) not installed next to the interpreter"),
]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam-build")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [
            str(SAM),
            "build",
            "--no-cached",  # samconfig.toml turns the cache on; a test must build from the sources
            "--build-dir",
            str(out),
            "--template-file",
            str(REPO_ROOT / "template.yaml"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Build Succeeded" in output, output
    return out


def test_layer_holds_the_package(build_dir: Path) -> None:
    package = build_dir / LAYER / "python" / "sevdesk_common"
    assert (package / "__init__.py").is_file()
    leftovers = [p for p in package.rglob("*") if p.name in ("__pycache__", "tests") or p.suffix == ".pyc"]
    assert not leftovers, leftovers


def test_layer_has_wheels_for_the_lambda_target(build_dir: Path) -> None:
    python = build_dir / LAYER / "python"
    compiled = list(python.glob("pydantic_core/*.cpython-313-aarch64-linux-gnu.so"))
    assert compiled, "no pydantic_core built for cp313 aarch64"
    # Built with --no-compile: .pyc of the build interpreter would be dead weight on Lambda.
    assert not list(python.rglob("*.pyc"))


def test_layer_does_not_bundle_the_aws_sdk(build_dir: Path) -> None:
    python = build_dir / LAYER / "python"
    bundled = [p.name for name in RUNTIME_PROVIDED for p in python.glob(f"{name}*")]
    assert not bundled, f"provided by the Lambda runtime, must not be in the layer: {bundled}"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_artifact_is_only_its_handler(build_dir: Path, logical_id: str) -> None:
    artifact = build_dir / logical_id
    files = sorted(str(p.relative_to(artifact)) for p in artifact.rglob("*") if p.is_file())
    assert files == ["app.py"], files
    assert (artifact / "app.py").stat().st_size < MAX_FUNCTION_BYTES
