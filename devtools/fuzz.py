"""Fuzz the HTTP API from its own OpenAPI document (schemathesis) against the local stack.

Every response must be a documented status whose body matches the documented schema, with the
documented headers; no 5xx at all; data the document calls invalid must be refused. Requests go
over HTTP through the local API Gateway emulation (JWT authorizer included) to the real handlers,
with the sevDesk emulator behind them.

    python -m devtools.fuzz --cases 2000        # or: make fuzz FUZZ_CASES=2000

prints the counts (cases, 5xx, contradictions) and exits non-zero on any finding.
tests/e2e/test_e2e_fuzz.py runs a small, derandomized campaign as part of the suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
HANDOVER_EVENT = REPO_ROOT / "events" / "billing_invoice_put.json"
# What a response must satisfy. The remaining schemathesis checks are about API styles we do not
# claim (405 for other methods: API Gateway answers 404) or re-send requests on their own.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# The per-user limiter allows 20 requests per 60 s; each fuzz identity stays well below.
REQUESTS_PER_IDENTITY = 10
# Inputs the first fuzz found 500s with, mixed into generated cases (see `_hostile`).
FOREIGN_MEDIA_TYPES = ("text/plain", "application/xml", "multipart/form-data; boundary=x", "text/csv")
ODD_IDS = ("a\x0bb", "a\tb", "a\x85b", "a\u2028b", "a\x00b", "\U0001f9fe", "..", "%", "a b")
NOT_UTF8 = (b"\xff", b'{"version": "\xff"}', b"\xed\xa0\x80")
# Tokens the authorizer must refuse, made from a valid one.
FORGED: tuple[Callable[[str], str], ...] = (
    lambda token: f"Bearer {token[:-4]}AAAA",  # signature no longer matches
    lambda token: f"Bearer {token.split('.')[0]}.e30.",  # unsigned, no claims
    lambda token: f"Basic {token}",
    lambda token: "Bearer",
    lambda token: "Bearer not-a-jwt",
)


@dataclass
class Finding:
    operation: str
    status: int | None
    problems: list[str]
    request: str

    def render(self) -> str:
        return f"{self.operation} -> {self.status}: {'; '.join(self.problems)}\n    {self.request}"


@dataclass
class Report:
    cases: int = 0
    server_errors: list[Finding] = field(default_factory=list)
    contradictions: list[Finding] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.server_errors and not self.contradictions

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return (
            f"cases: {self.cases}, 5xx: {len(self.server_errors)}, "
            f"contradictions: {len(self.contradictions)} (statuses {statuses})"
        )

    def details(self, limit: int = 20) -> str:
        findings = [*self.server_errors, *self.contradictions]
        lines = [finding.render() for finding in findings[:limit]]
        if len(findings) > limit:
            lines.append(f"... and {len(findings) - limit} more")
        return "\n".join(lines)


class Identities:
    """Bearer tokens for the cases: admins and staff whose `sub` changes every few requests (so
    the per-user limiter never throttles the campaign), now and then no token or a forged one."""

    def __init__(self, mint: Callable[[str, list[str]], str]) -> None:
        self._mint = mint
        self._count = 0
        self._tokens: dict[tuple[str, int], str] = {}

    def headers(self) -> dict[str, str]:
        self._count += 1
        kind = ("anonymous", "staff", "admin", "admin", "forged", "admin", "staff", "admin")[self._count % 8]
        if kind == "anonymous":
            return {}
        if kind == "forged":
            return {"Authorization": FORGED[(self._count // 8) % len(FORGED)](self._token("admin"))}
        return {"Authorization": f"Bearer {self._token(kind)}"}

    def _token(self, kind: str) -> str:
        key = (kind, self._count // REQUESTS_PER_IDENTITY)
        if key not in self._tokens:
            roles = ["admin", "staff"] if kind == "admin" else ["staff"]
            self._tokens[key] = self._mint(f"fuzz-{kind}-{key[1]}", roles)
        return self._tokens[key]


class Campaign:
    def __init__(self, api_url: str, mint: Callable[[str, list[str]], str], document: dict[str, Any]) -> None:
        import requests
        import schemathesis

        self.api_url = api_url
        self.mint = mint
        self.identities = Identities(mint)
        config = schemathesis.Config.from_dict(
            {
                # Tokens come from `Identities`; generated ones would mostly stop at the authorizer.
                "generation": {"with-security-parameters": False},
                "checks": {
                    "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "415"]}
                },
            }
        )
        self.schema = schemathesis.openapi.from_dict(document, config=config)
        self.session = requests.Session()
        self.report = Report()
        self.checks = [getattr(schemathesis.checks, name) for name in CHECKS]
        self.known_invoice: str | None = None
        self.handover = json.loads(json.loads(HANDOVER_EVENT.read_text())["body"])

    # ------------------------------------------------------------------ running
    def run(self, cases_per_operation: int, *, seed: int | None = None) -> Report:
        self._seed_invoice()
        for operation in self._operations():
            self._explore(operation, cases_per_operation, seed)
        self._burst()
        return self.report

    def _operations(self) -> list[Any]:
        return [result.ok() for result in self.schema.get_all_operations()]

    def _explore(self, operation: Any, cases: int, seed: int | None) -> None:
        import hypothesis
        from hypothesis import strategies as st
        from schemathesis import GenerationMode

        strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
        if self.known_invoice and "{invoiceId}" in operation.path:
            known = {"invoiceId": self.known_invoice}
            strategies.append(operation.as_strategy(path_parameters=known))
        if operation.method.upper() == "PUT" and operation.path == "/api/billing/invoices/{invoiceId}":
            # Random handovers rarely pass the cross-field rules; this one does, under new ids.
            strategies.append(operation.as_strategy(body=self.handover))
        counter = itertools.count()

        @hypothesis.settings(
            max_examples=cases,
            derandomize=seed is None,
            database=None,
            deadline=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.given(case=st.one_of(strategies))
        def explore(case: Any) -> None:
            self.exercise(case, next(counter))

        if seed is not None:
            explore = hypothesis.seed(seed)(explore)
        explore()

    def exercise(self, case: Any, index: int) -> None:
        headers = self.identities.headers()
        hostile = self._hostile(case, index)
        if hostile is not None:
            self._send_raw(case, headers, *hostile)
            return
        try:
            response = case.call(base_url=self.api_url, session=self.session, headers=headers)
        except Exception as exc:  # the server hung up or answered nonsense: a finding too
            self._record(case, None, [f"request failed: {type(exc).__name__}: {exc}"], headers)
            return
        self._validate(case, response, headers, self.checks)

    def _hostile(self, case: Any, index: int) -> tuple[str, bytes | None, str] | None:
        """Every fifth case, one of the inputs that once produced 500s, where the operation reads
        them: an id no invoice can have, a foreign content type, a body that is not UTF-8."""
        if index % 5 != 4:
            return None
        kinds = ["odd id"] if "{invoiceId}" in case.operation.path else []
        if case.operation.body:
            kinds += ["foreign media type", "not UTF-8"]
        if not kinds:
            return None
        turn = index // 5
        kind, variant = kinds[turn % len(kinds)], turn // len(kinds)
        if kind == "odd id":
            odd = ODD_IDS[variant % len(ODD_IDS)]
            return case.operation.path.replace("{invoiceId}", _quote(odd)), None, "application/json"
        if kind == "not UTF-8":
            return case.formatted_path, NOT_UTF8[variant % len(NOT_UTF8)], "application/json"
        media_type = FOREIGN_MEDIA_TYPES[variant % len(FOREIGN_MEDIA_TYPES)]
        return case.formatted_path, _raw_body(case.body), media_type

    def _send_raw(
        self, case: Any, headers: dict[str, str], path: str, body: bytes | None, media: str
    ) -> None:
        request_headers = {**headers, "Content-Type": media} if body is not None else headers
        response = self.session.request(
            case.method, f"{self.api_url}{path}", data=body, headers=request_headers, timeout=30
        )
        # The request no longer is the generated case, so only the response-side checks apply.
        checks = [check for check in self.checks if check.__name__ != "negative_data_rejection"]
        self._validate(case, response, headers, checks, shown=f"{case.method} {path!r} {media} {body!r}")

    def _validate(
        self,
        case: Any,
        response: Any,
        headers: dict[str, str],
        checks: list[Any],
        shown: str | None = None,
    ) -> None:
        from schemathesis.core.failures import FailureGroup

        self.report.cases += 1
        self.report.statuses[response.status_code] += 1
        self.report.by_operation[case.operation.label] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
            problems: list[str] = []
        except FailureGroup as group:
            problems = [f"{failure.title}: {failure.message}".strip() for failure in group.exceptions]
        except AssertionError as failure:
            problems = [str(failure)]
        if response.status_code >= 500 and not any("Server error" in p for p in problems):
            problems.append("Server error")
        if problems:
            self._record(case, response.status_code, problems, headers, shown)

    def _record(
        self,
        case: Any,
        status: int | None,
        problems: list[str],
        headers: dict[str, str],
        shown: str | None = None,
    ) -> None:
        request = shown or case.as_curl_command(headers={k: "..." for k in headers}, base_url=self.api_url)
        finding = Finding(case.operation.label, status, problems, request)
        if status is None or status >= 500:
            self.report.server_errors.append(finding)
        else:
            self.report.contradictions.append(finding)

    # ------------------------------------------------------------------ fixed scenarios
    def _seed_invoice(self) -> None:
        """An invoice that exists, so cases reach the states behind the 404 (publish, send, ...)."""
        token = self.mint("fuzz-seed", ["staff"])
        response = self.session.put(
            f"{self.api_url}/api/billing/invoices/FUZZ-1",
            json=self.handover,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        if response.status_code in (200, 201):
            self.known_invoice = "FUZZ-1"

    def _burst(self) -> None:
        """One user over the limit: the 429 must be the documented one, Retry-After included."""
        operation = self.schema["/api/sevdesk/config"]["GET"]
        headers = {"Authorization": f"Bearer {self.mint('fuzz-burst', ['admin'])}"}
        for _ in range(60):  # 20 per 60 s, refilling while the burst runs
            case = operation.Case()
            response = case.call(base_url=self.api_url, session=self.session, headers=headers)
            self._validate(case, response, headers, self.checks)
            if response.status_code == 429:
                return
        self._record(operation.Case(), 200, ["the per-user limiter never answered 429"], headers)


def _raw_body(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body).encode()
    except TypeError:  # no body generated (schemathesis' NOT_SET)
        return b"{}"


def _quote(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


def run_campaign(
    api_url: str,
    mint: Callable[[str, list[str]], str],
    cases_per_operation: int,
    *,
    seed: int | None = None,
    document: dict[str, Any] | None = None,
) -> Report:
    document = document or json.loads(DOCUMENT.read_text())
    return Campaign(api_url, mint, document).run(cases_per_operation, seed=seed)


def main(argv: list[str] | None = None) -> int:
    from devtools.local.stack import LocalStack, Ports
    from devtools.logsink import output_to

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="about this many cases in all")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: derandomized)")
    parser.add_argument("--log", type=Path, default=REPO_ROOT / ".local" / "fuzz.log")
    args = parser.parse_args(argv)
    document = json.loads(DOCUMENT.read_text())
    # An operation without parameters or body has one case to send; the rest share the budget.
    with_inputs = [
        operation
        for methods in document["paths"].values()
        for operation in methods.values()
        if operation.get("parameters") or operation.get("requestBody")
    ]
    per_operation = max(1, args.cases // max(1, len(with_inputs)))
    started = time.monotonic()
    with output_to(args.log) as out, tempfile.TemporaryDirectory() as state:
        print(
            f"fuzz: about {args.cases} cases against the local stack; logs in {args.log}",
            file=out,
            flush=True,
        )
        with LocalStack.start(
            REPO_ROOT / "template.yaml", Ports.ephemeral(), state_dir=Path(state), timers=False
        ) as stack:
            report = run_campaign(
                stack.api_url, stack.mint_token, per_operation, seed=args.seed, document=document
            )
        print(f"fuzz: {report.summary()} in {time.monotonic() - started:.0f} s", file=out)
        for label, count in sorted(report.by_operation.items()):
            print(f"  {count:6d}  {label}", file=out)
        if not report.ok:
            print(report.details(limit=50), file=out)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
