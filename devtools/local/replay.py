"""Replay an events/ fixture: the docker-free `sam local invoke -e` for ops."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import botocore.exceptions

from devtools.local.handlers import invocation_error
from devtools.local.moto_server import client


def _print(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def replay_via_stack(stack_json: Path, function: str, event_path: Path) -> int:
    """`aws lambda invoke` against the running stack's moto endpoint (the middleware runs the handler)."""
    if not stack_json.exists():
        print(f"no stack running ({stack_json} missing): `make local`, or --in-process", file=sys.stderr)
        return 2
    state = json.loads(stack_json.read_text())
    lam = client("lambda", state["moto_url"])
    try:
        resp = lam.invoke(FunctionName=function, Payload=event_path.read_bytes())
    except botocore.exceptions.EndpointConnectionError:
        print(f"stack at {state['moto_url']} is not answering: is `make local` running?", file=sys.stderr)
        return 2
    except lam.exceptions.ResourceNotFoundException:
        print(f"unknown function {function!r}; known: {', '.join(state['functions'])}", file=sys.stderr)
        return 2
    payload = json.loads(resp["Payload"].read() or b"null")
    _print(payload)
    if resp.get("FunctionError"):
        print(f"FunctionError: {resp['FunctionError']}", file=sys.stderr)
        return 1
    return 0


def replay_in_process(template: Path, function: str, event_path: Path) -> int:
    """A fresh stack on free ports in this process (moto, emulator, env from the template), one call."""
    from devtools.local.stack import LocalStack, Ports  # the full stack only when asked for

    event = json.loads(event_path.read_text())
    with LocalStack.start(template, Ports.ephemeral(), timers=False) as stack:
        try:
            result = stack.invoke(function, event)
        except Exception as exc:
            _print(invocation_error(exc))
            print("FunctionError: Unhandled", file=sys.stderr)
            return 1
    _print(result)
    return 0
