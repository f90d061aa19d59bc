"""`sam validate --lint` (cfn-lint over the SAM-transformed template) passes, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"


@pytest.mark.skipif(not SAM.exists(), reason=f"SAM CLI not installed next to the interpreter ({SAM.name})")
def test_sam_validate_lint_passes() -> None:
    # --lint needs neither credentials nor a region; telemetry off keeps it offline and quiet.
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(REPO_ROOT / "template.yaml")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output, output
