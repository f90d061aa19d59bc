"""The stack a campaign runs against: one it starts in-process with timeouts suited to fault
injection, or a running `python -m devtools.local up` found through its state directory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.storms.shapes import Timing

REPO_ROOT = Path(__file__).resolve().parents[2]


def storm_env(timing: Timing) -> dict[str, str]:
    """Every function's environment for storms: sevDesk answers that are slow or missing cost
    seconds, not minutes, so a storm with a fault ends in seconds."""
    return {
        "SEVDESK_TIMEOUT_SECONDS": str(timing.client_timeout),
        "SEVDESK_CONNECT_TIMEOUT_SECONDS": "1",
        "SEVDESK_RETRY_MIN_SECONDS": "0.2",
        "SEVDESK_RETRY_MAX_SECONDS": "2",
        # Longer than any held or slow write of a fault, so a late write is found, never repeated.
        "AMBIGUOUS_WRITE_GRACE_SECONDS": str(int(max(timing.timeout_delay, timing.latency_max)) + 2),
        # A campaign sends far more than one account's traffic on purpose; the outbound budget
        # would only make it slower.
        "BUDGET_DEFAULT_PER_MINUTE": "100000",
    }


@dataclass
class Target:
    api_url: str
    control_url: str
    mint: Callable[[str, list[str]], str]
    table: str | None
    moto_url: str | None
    pid: int | None  # the stack's process (its RSS is sampled with its children's)

    def item_count(self) -> int | None:
        """Items in the state table; None when the table is out of reach."""
        if not (self.table and self.moto_url):
            return None
        pages = self._dynamodb().get_paginator("scan").paginate(TableName=self.table, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def lease(self, invoice_id: str) -> dict[str, Any] | None:
        """The invoice item's lease fields (empty when free); None when the table is out of reach."""
        if not (self.table and self.moto_url):
            return None
        item = (
            self._dynamodb()
            .get_item(
                TableName=self.table,
                Key={"pk": {"S": f"INVOICE#{invoice_id}"}, "sk": {"S": "INVOICE"}},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
        return {k: next(iter(v.values())) for k, v in item.items() if k.startswith("lock")}

    def _dynamodb(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            endpoint_url=self.moto_url,
            region_name=os.environ.get("AWS_REGION", "eu-central-1"),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def local_stack(timing: Timing, log_output: Any = None) -> Iterator[Target]:
    """A fresh local stack on free ports whose functions use `storm_env`."""
    import tempfile

    from devtools.local.stack import LocalStack, Ports

    with tempfile.TemporaryDirectory() as state:
        stack = LocalStack.start(
            REPO_ROOT / "template.yaml",
            Ports.ephemeral(),
            state_dir=Path(state),
            timers=False,
            env=storm_env(timing),
            max_instances=10,
            log_output=log_output,
        )
        try:
            assert stack.emulator_server is not None, "storms need the sevDesk emulator"
            yield Target(
                api_url=stack.api_url,
                control_url=stack.emulator_server.control_url,
                mint=stack.mint_token,
                table=stack.resources["tables"][0],
                moto_url=stack.moto_url,
                pid=os.getpid(),
            )
        finally:
            stack.stop()


def running_stack(state_dir: Path) -> Target:
    """A stack started by `python -m devtools.local up --state-dir DIR` (default `.local`): its
    URLs from stack.json, tokens minted with the key it keeps there."""
    from devtools.local.stack import _keys
    from devtools.local.template import LocalTemplate

    described = json.loads((state_dir / "stack.json").read_text())
    if described.get("real_sevdesk"):
        raise SystemExit("refusing to storm a real sevDesk account: storms inject faults and publish")
    template = LocalTemplate.load(Path(described["template"]))
    keys = _keys(template, state_dir)
    emulator = httpx.URL(described["emulator_url"])
    return Target(
        api_url=described["api_url"],
        control_url=str(emulator.copy_with(path="/__emulator__")),
        mint=lambda sub, roles: keys.mint(sub, roles),
        table=(described.get("resources", {}).get("tables") or [None])[0],
        moto_url=described.get("moto_url"),
        pid=described.get("pid"),
    )
