"""Helpers for the e2e tests: boto3 against the stack's moto, bearer headers, `up` as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from devtools.local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def aws(stack_or_url: LocalStack | str, service: str) -> Any:
    url = stack_or_url if isinstance(stack_or_url, str) else stack_or_url.moto_url
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "devtools.local", *args]


class UpProcess:
    """`python -m devtools.local up` as a subprocess on free ports (the CLI path, end to end)."""

    def __init__(self, template: Path, state_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEVDESK_", "MOTO_"))}
        args = cli("--template", str(template), "--state-dir", str(state_dir))
        self.proc = subprocess.Popen(
            [*args, "up", "--port-base", "0", *extra],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner = self._read_banner()
        self.state = json.loads((state_dir / "stack.json").read_text())

    def _read_banner(self) -> str:
        assert self.proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("local stack exited early:\n" + "".join(lines))
            lines.append(line)
            if line.lstrip().startswith("curl "):  # the banner's last line
                return "".join(lines)
        raise TimeoutError("".join(lines))

    def interrupt(self, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
