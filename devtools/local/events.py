"""`python -m devtools.local put-event EVENT`: put an EventBridge event on the running local stack.

It goes through moto's PutEvents like R1's would in AWS, and the stack delivers it the way
EventBridge does: the envelope, asynchronously, to every function whose rule on that bus matches
(devtools/local/moto_server.py), with the function's retries and dead-letter queue after them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from devtools.local.moto_server import client
from devtools.local.template import LocalTemplate


def entry_of(event: dict[str, Any], bus: str) -> dict[str, Any]:
    """A PutEvents entry from an EventBridge envelope (as the events/ fixtures hold them)."""
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event.get("detail", {})),
        "Resources": event.get("resources", []),
        "EventBusName": bus,
    }


def bus_for(template: LocalTemplate, event: dict[str, Any]) -> str:
    """The bus of the template's rules that match the event ("default" when none does)."""
    buses = {
        rule.bus
        for rule in template.event_rules()
        if EventPattern.load(json.dumps(rule.pattern)).matches_event(event)
    }
    return buses.pop() if len(buses) == 1 else "default"


def put_event(stack_json: Path, template_path: Path, event_path: Path, bus: str | None) -> int:
    if not stack_json.exists():
        print(f"no stack running ({stack_json} missing): start it with `make local`", file=sys.stderr)
        return 2
    state = json.loads(stack_json.read_text())
    event = json.loads(event_path.read_text())
    target = bus or bus_for(LocalTemplate.load(template_path), event)
    answer = client("events", state["moto_url"]).put_events(Entries=[entry_of(event, target)])
    print(json.dumps({"bus": target, "entries": answer["Entries"]}, indent=2))
    return 1 if answer.get("FailedEntryCount") else 0
