"""Compare the recorded AWS calls of each function with its grants in template.yaml.

Fails when a function calls an action its policy does not allow (AccessDenied in AWS), when a
grant is used by no recorded call (least privilege the other way), when a function was not
exercised at all, or when a call's resource cannot be traced to the template.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from devtools.grants.policies import FunctionPolicy, Grant, Template, Unresolvable


@dataclass(frozen=True)
class Request:
    """One (action, resource) a call needs, in canonical form."""

    action: str
    arn: str  # "*" when the call names no resource
    shown: str  # for the report: logical id plus sub-resource, object keys collapsed


@dataclass
class FunctionResult:
    logical_id: str
    calls: Counter[tuple[str, str, bool]] = field(default_factory=Counter)  # (action, shown, allowed)
    missing: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # -> operations
    unused: list[Grant] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.missing or self.unused or self.errors)


@dataclass
class Report:
    functions: list[FunctionResult]
    call_count: int
    # Calls of functions this template does not define (another template's, e.g. a test fixture).
    foreign: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.functions)


def load_calls(directory: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(Path(directory).glob("calls-*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def check(template: Template, records: Iterable[dict[str, Any]]) -> Report:
    policies = template.functions()
    results = {logical_id: FunctionResult(logical_id) for logical_id in policies}
    used: set[tuple[str, Grant]] = set()
    foreign: Counter[str] = Counter()
    count = 0
    for record in records:
        count += 1
        function = record["function"]
        if function not in policies:
            foreign[function] += 1
            continue
        policy, result = policies[function], results[function]
        for need in record["needs"]:
            try:
                request = _request(template, policy, need)
            except Unresolvable as error:
                _add_once(result.errors, f"{record['service']}:{record['operation']}: {error}")
                continue
            allowing = [g for g in policy.grants if g.effect == "Allow" and _matches(g, request)]
            denied = any(g.effect == "Deny" and _matches(g, request) for g in policy.grants)
            used.update((function, grant) for grant in allowing)
            allowed = bool(allowing) and not denied
            result.calls[(request.action, request.shown, allowed)] += 1
            if not allowed:
                operations = result.missing.setdefault((request.action, request.shown), [])
                _add_once(operations, record["operation"])
    for logical_id, policy in policies.items():
        result = results[logical_id]
        result.errors.extend(policy.problems)
        if not result.calls and not result.errors:
            result.errors.append("not exercised by the tests: no AWS call recorded")
        result.unused = [
            g for g in policy.grants if g.effect == "Allow" and g.pattern and (logical_id, g) not in used
        ]
    return Report(sorted(results.values(), key=lambda r: r.logical_id), count, foreign)


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _request(template: Template, policy: FunctionPolicy, need: dict[str, Any]) -> Request:
    resource = need.get("resource")
    if resource is None:
        return Request(need["action"], "*", "*")
    owners = set()
    for variable in resource.get("env", []):
        if variable in policy.environment:
            owners |= template.logical_ids_in(policy.environment[variable])
    if len(owners) != 1:
        named = ", ".join(resource.get("env", [])) or "no environment variable"
        problem = "named by" if owners else "not named by any of the function's environment variables"
        raise Unresolvable(
            f"{resource['kind']} {resource['id']!r} {problem} ({named}"
            + (f" -> {', '.join(sorted(owners))})" if owners else ")")
        )
    (owner,) = owners
    arn, kind, sub = template.arn(owner), resource["kind"], resource.get("sub")
    if kind == "index":
        return Request(need["action"], f"{arn}/index/{sub}", f"{owner}/index/{sub}")
    if kind == "object":
        return Request(need["action"], f"{arn}/{sub}", f"{owner}/*")
    if kind == "function" and sub:
        return Request(need["action"], f"{arn}:{sub}", f"{owner}:{sub}")
    if kind == "execution":
        return Request(need["action"], f"{arn.replace(':stateMachine:', ':execution:')}:{sub}", f"{owner}:*")
    return Request(need["action"], arn, owner)


def _matches(grant: Grant, request: Request) -> bool:
    return (
        grant.pattern is not None
        and _glob(grant.action, ignore_case=True).fullmatch(request.action) is not None
        and _glob(grant.pattern, ignore_case=False).fullmatch(request.arn) is not None
    )


@lru_cache(maxsize=1024)
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: * any run of characters (also / and :), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


# ---------------------------------------------------------------- report


def render(report: Report, *, template_name: str, calls_dir: str) -> str:
    lines = [f"grants check: {template_name} against {report.call_count} recorded AWS calls in {calls_dir}"]
    if report.foreign:
        ignored = ", ".join(f"{name} ({count})" for name, count in sorted(report.foreign.items()))
        lines.append(f"ignored: calls of functions the template does not define: {ignored}")
    for result in report.functions:
        lines.append("")
        lines.append(f"{result.logical_id}: {'FAIL' if result.failed else 'ok'}")
        for error in result.errors:
            lines.append(f"  ERROR   {error}")
        for (action, shown), operations in sorted(result.missing.items()):
            lines.append(
                f"  MISSING {action} on {shown} (called by {', '.join(operations)}; no grant allows it)"
            )
        for grant in result.unused:
            lines.append(
                f"  UNUSED  {grant.action} on {grant.resource} ({grant.origin}; no recorded call needs it)"
            )
        width = max((len(action) for action, _, _ in result.calls), default=0)
        shown_width = max((len(shown) for _, shown, _ in result.calls), default=0)
        for (action, shown, allowed), count in sorted(result.calls.items()):
            verdict = "allowed" if allowed else "DENIED"
            lines.append(f"    {action:<{width}}  {shown:<{shown_width}}  {count:>6}  {verdict}")
    failed = [r.logical_id for r in report.functions if r.failed]
    lines.append("")
    if report.failed:
        lines.append(f"FAIL: {len(failed)} of {len(report.functions)} functions ({', '.join(failed)})")
    else:
        lines.append(f"ok: every grant of {len(report.functions)} functions is used and suffices")
    return "\n".join(lines)
