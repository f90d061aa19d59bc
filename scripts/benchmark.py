"""Figures: cold import + init per function, the layer's size, sevDesk requests and latency per publish,
the drift report over 10,000 invoices, and payment sync per run against one request per invoice.

Usage: .venv/bin/python scripts/benchmark.py [--runs 7] [--only coldstart,layer] [--fresh-layer]
       .venv/bin/python scripts/benchmark.py --only publish-requests,publish-latency
       .venv/bin/python scripts/benchmark.py --only datev-memory,datev-lambda-seconds
       .venv/bin/python scripts/benchmark.py --only contacts-requests,kpi-requests
       .venv/bin/python scripts/benchmark.py --only drift-report
       .venv/bin/python scripts/benchmark.py --only payment-sync

Sections register themselves in SECTIONS (see `section`); a later figure is one more function.
Every number comes from this machine: read them relative to the baselines printed alongside,
not as Lambda milliseconds (Lambda's CPU share scales with memory).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_SOURCE = REPO_ROOT / "layers" / "common"
LAYER_ID = "CommonLayer"
# What `make build-CommonLayer` reads besides the layer directory itself.
LAYER_BUILD_INPUTS = [REPO_ROOT / "build.mk", REPO_ROOT / "requirements" / "constraints.txt"]
START_MARKER = "--- bench: app import starts ---"


@dataclass(frozen=True)
class Options:
    runs: int
    fresh_layer: bool
    compare_to: str | None = None  # a git ref whose cold imports are measured side by side


@dataclass(frozen=True)
class Function:
    logical_id: str
    app: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Sample:
    import_ms: float  # measured inside the child: module import + init only
    wall_ms: float  # process start to exit, interpreter start-up included


Section = Callable[[Options], bool]
SECTIONS: dict[str, Section] = {}


def section(name: str) -> Callable[[Section], Section]:
    """Register a report section; it returns False when a figure misses its target."""

    def register(func: Section) -> Section:
        SECTIONS[name] = func
        return func

    return register


# ---------------------------------------------------------------- template


def load_template() -> dict[str, Any]:
    return yaml_parse((REPO_ROOT / "template.yaml").read_text())


def resolve(value: Any, template: dict[str, Any]) -> str:
    """A stand-in for an intrinsic: a parameter's default, else a placeholder name."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        parameter = template.get("Parameters", {}).get(value["Ref"])
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
        return f"bench-{value['Ref']}"
    return "bench-value"


def lambda_env(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> dict[str, str]:
    """The environment Lambda would give this function, minus anything that reaches AWS."""
    globals_fn = template.get("Globals", {}).get("Function", {})
    variables = {
        **globals_fn.get("Environment", {}).get("Variables", {}),
        **props.get("Environment", {}).get("Variables", {}),
    }
    env = {name: resolve(value, template) for name, value in variables.items()}
    memory = props.get("MemorySize", globals_fn.get("MemorySize", 512))
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            # LAMBDA_TASK_ROOT makes Powertools' Tracer really switch on (it disables itself
            # outside Lambda), so its import and patching cost is counted. X-Ray emits over UDP
            # to the daemon address only when a segment closes, never at import.
            "LAMBDA_TASK_ROOT": str(REPO_ROOT / props["CodeUri"]),
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    return env


def functions(template: dict[str, Any]) -> list[Function]:
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        found.append(
            Function(
                logical_id=logical_id,
                app=REPO_ROOT / props["CodeUri"] / "app.py",
                env=lambda_env(template, logical_id, props),
            )
        )
    return sorted(found, key=lambda f: f.logical_id)


# ---------------------------------------------------------------- child processes

# The Lambda runtime's own packages (the AWS SDK and what it needs); the layer brings the rest.
RUNTIME_DISTRIBUTIONS = ("boto3",)


def distribution_closure(roots: list[str]) -> set[str]:
    """Installed distributions reachable from roots through their (non-extra) requirements."""
    seen: set[str] = set()
    todo = [canonicalize_name(name) for name in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for spec in map(Requirement, requires):
            if spec.marker is None or spec.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(spec.name))
    return seen


def lambda_importable() -> list[str]:
    """Top-level module names Lambda can import: the layer's requirements plus the runtime SDK.

    The dev venv also holds aws-sam-cli, moto and their optional extras for botocore (awscrt,
    pyOpenSSL) and httpx (rich, click). Those change what the children import and cost tens of
    ms, so the children refuse every non-stdlib module outside this list, as Lambda would.
    """
    lines = (LAYER_SOURCE / "requirements.txt").read_text().splitlines()
    roots = [Requirement(line).name for line in (raw.split("#")[0].strip() for raw in lines) if line]
    names: set[str] = set()
    for dist_name in distribution_closure([*roots, *RUNTIME_DISTRIBUTIONS]):
        try:
            files = metadata.distribution(dist_name).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            top = file.parts[0]
            if top.endswith((".dist-info", ".pth")) or top in ("..", "bin", "__pycache__"):
                continue
            names.add(top.split(".")[0])
    return sorted(names)


# Prepended to every child: a finder that hides what Lambda would not have (see lambda_importable).
CHILD_PRELUDE = """
import importlib.machinery, sys
_ALLOWED = set(@ALLOWED@) | set(sys.stdlib_module_names) | set(sys.builtin_module_names)
_LOCAL = ("sevdesk_common", "functions", "bench_app_")
class _LambdaSitePackages:
    def find_spec(self, name, path=None, target=None):
        if path is not None or name in _ALLOWED or name.startswith(_LOCAL):
            return None  # submodules follow their package; allowed names load normally
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is not None and "site-packages" in str(spec.origin or spec.submodule_search_locations):
            raise ModuleNotFoundError(name + " is not available on Lambda", name=name)
        return None
sys.meta_path.insert(0, _LambdaSitePackages())
"""

# The child puts the function dir (Lambda's /var/task) and the layer (/opt/python) first on
# sys.path, then times loading app.py by file path under a unique module name.
APP_CHILD = """
import importlib.util, json, sys, time
app, task_root, layer = sys.argv[1:4]
sys.path[:0] = [task_root, layer]
print(@MARKER@, file=sys.stderr, flush=True)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("bench_app_" + task_root.replace("/", "_"), app)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
print(json.dumps({"import_ms": (time.perf_counter() - start) * 1000}))
"""

# What a handler costs when it imports everything up front instead of lazily.
EAGER_CHILD = """
import json, sys, time
print(@MARKER@, file=sys.stderr, flush=True)
start = time.perf_counter()
import boto3, httpx, pydantic, tenacity
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities import parameters
Logger(); Tracer(); Metrics(); APIGatewayHttpResolver(enable_validation=True)
print(json.dumps({"import_ms": (time.perf_counter() - start) * 1000}))
"""


def child_code(body: str, allowed: list[str]) -> str:
    return CHILD_PRELUDE.replace("@ALLOWED@", repr(allowed)) + body.replace("@MARKER@", repr(START_MARKER))


def run_child(
    code: str, args: list[str], env: dict[str, str], importtime: bool = False
) -> tuple[Sample, str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code, *args]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    wall_ms = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"child failed ({result.returncode}):\n{result.stderr[-3000:]}")
    import_ms = json.loads(result.stdout.strip().splitlines()[-1])["import_ms"] if result.stdout else 0.0
    return Sample(import_ms=import_ms, wall_ms=wall_ms), result.stderr


def heaviest_packages(importtime_stderr: str, top: int = 4) -> list[tuple[str, float]]:
    """Self time of every module imported after the marker, summed by top-level package."""
    after_marker = importtime_stderr.split(START_MARKER, 1)[-1]
    per_package: dict[str, float] = defaultdict(float)
    for line in after_marker.splitlines():
        # "import time: <self us> | <cumulative us> | <indent><module>"; the header has no digits.
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        per_package[fields[2].strip().split(".")[0]] += int(fields[0]) / 1000
    return sorted(per_package.items(), key=lambda item: item[1], reverse=True)[:top]


def measure(code: str, args: list[str], env: dict[str, str], runs: int) -> tuple[list[Sample], str]:
    samples = [run_child(code, args, env)[0] for _ in range(runs)]
    _, importtime = run_child(code, args, env, importtime=True)
    return samples, importtime


# ---------------------------------------------------------------- sections


@section("coldstart")
def coldstart(options: Options) -> bool:
    template = load_template()
    fns = functions(template)
    base_env = fns[0].env if fns else lambda_env(template, "Baseline", {"CodeUri": "."})
    rows: list[tuple[str, list[Sample], str]] = []

    bare = [run_child("pass", [], base_env)[0] for _ in range(options.runs)]
    rows.append(("(baseline) python -c pass", bare, ""))
    allowed = lambda_importable()
    eager, eager_trace = measure(child_code(EAGER_CHILD, allowed), [], base_env, options.runs)
    rows.append(("(baseline) everything eager", eager, eager_trace))
    missing = []
    for fn in fns:
        if not fn.app.is_file():
            missing.append(fn.logical_id)
            continue
        args = [str(fn.app), str(fn.app.parent), str(LAYER_SOURCE)]
        samples, trace = measure(child_code(APP_CHILD, allowed), args, fn.env, options.runs)
        rows.append((fn.logical_id, samples, trace))
    slower = _compare_coldstart(options, fns, allowed) if options.compare_to else []

    python = f"Python {sys.version.split()[0]}"
    print(f"## Cold import + init, median of {options.runs} fresh processes ({python}, host CPU)")
    print("import = app.py load incl. module-level init, timed in the child; wall = whole process.")
    print(
        "Bytecode is cached locally; Lambda gets no .pyc from the layer and compiles it on each cold start."
    )
    header = (
        f"{'function':<32} {'median ms':>9} {'min':>7} {'max':>7} {'wall ms':>8}  heaviest packages (self ms)"
    )
    print(header)
    print("-" * len(header))
    for name, samples, trace in rows:
        imports = [s.import_ms for s in samples]
        heavy = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in heaviest_packages(trace)) if trace else ""
        print(
            f"{name:<32} {statistics.median(imports):>9.1f} {min(imports):>7.1f} {max(imports):>7.1f} "
            f"{statistics.median(s.wall_ms for s in samples):>8.1f}  {heavy}"
        )
    for logical_id in missing:
        print(f"{logical_id:<32} (no app.py yet)")
    print()
    return not missing and not slower


@contextmanager
def _checkout(ref: str) -> Iterator[Path]:
    """`ref` in a temporary worktree (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=REPO_ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO_ROOT, check=False,
                           capture_output=True)  # fmt: skip


def _compare_coldstart(options: Options, fns: list[Function], allowed: list[str]) -> list[str]:
    """Each function's cold import now and at `compare_to`, the two interleaved run by run so
    that machine load hits both alike. Returns the functions more than 5 % slower now.

    Judged on the median of the paired changes (each run now against the run at `compare_to`
    right after it): on a shared 2-core VM load comes in bursts (the same import's median of 9
    moved from 450 to 800 ms within minutes, in CPU time as much as in wall time), and a burst
    hits both runs of a pair alike. The fastest run of each side, which `timeit` advises for
    one program, is printed too: one lucky run of either side swings it by 20 %."""
    assert options.compare_to is not None
    code = child_code(APP_CHILD, allowed)
    slower: list[str] = []
    with _checkout(options.compare_to) as tree:
        print(f"## Cold import + init now vs {options.compare_to}, interleaved, {options.runs} runs each")
        header = (
            f"{'function':<32} {'paired change':>13} {'now min':>8} {'then min':>8} {'change':>8} "
            f"{'now median':>10} {'then median':>11}"
        )
        print(header)
        print("-" * len(header))
        old_layer = tree / LAYER_SOURCE.relative_to(REPO_ROOT)
        for fn in fns:
            old_app = tree / fn.app.relative_to(REPO_ROOT)
            if not (fn.app.is_file() and old_app.is_file()):
                continue
            new_args = [str(fn.app), str(fn.app.parent), str(LAYER_SOURCE)]
            old_args = [str(old_app), str(old_app.parent), str(old_layer)]
            for args in (new_args, old_args):
                run_child(code, args, fn.env)  # writes the bytecode cache, as for every other import
            now: list[float] = []
            then: list[float] = []
            for _ in range(options.runs):
                now.append(run_child(code, new_args, fn.env)[0].import_ms)
                then.append(run_child(code, old_args, fn.env)[0].import_ms)
            paired = statistics.median((n - t) / t * 100 for n, t in zip(now, then, strict=True))
            min_change = (min(now) - min(then)) / min(then) * 100
            if paired > 5:
                slower.append(fn.logical_id)
            print(
                f"{fn.logical_id:<32} {paired:>+12.1f}% {min(now):>8.1f} {min(then):>8.1f} "
                f"{min_change:>+7.1f}% {statistics.median(now):>10.1f} {statistics.median(then):>11.1f}"
            )
        print(f"more than 5 % slower: {', '.join(slower) or 'none'}")
        print()
    return slower


def newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = [p for p in path.rglob("*") if "__pycache__" not in p.parts] if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in files if p.exists())])
    return newest


def built_layer(options: Options, workdir: Path) -> tuple[Path, str]:
    """The sam build output if it is newer than the layer's inputs, else a fresh make build."""
    existing = REPO_ROOT / ".aws-sam" / "build" / LAYER_ID
    inputs = [LAYER_SOURCE, *LAYER_BUILD_INPUTS]
    if not options.fresh_layer and existing.is_dir() and existing.stat().st_mtime >= newest_mtime(inputs):
        return existing, f"{existing.relative_to(REPO_ROOT)} (fresh sam build output)"
    target = workdir / LAYER_ID
    result = subprocess.run(
        ["make", "--no-print-directory", "--makefile", str(REPO_ROOT / "Makefile"), f"build-{LAYER_ID}"],
        cwd=LAYER_SOURCE,
        env={**os.environ, "ARTIFACTS_DIR": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"make build-{LAYER_ID} failed:\n{result.stdout}{result.stderr}")
    return target, f"make build-{LAYER_ID} into a temp dir (same rule as sam build)"


@section("layer")
def layer(options: Options) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        root, origin = built_layer(options, Path(tmp))
        files = [p for p in root.rglob("*") if p.is_file()]
        unzipped = sum(p.stat().st_size for p in files)
        archive = Path(tmp) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.relative_to(root))
        zipped = archive.stat().st_size
        python = root / "python"
        sdk = sorted(p.name for name in ("boto3", "botocore") for p in python.glob(f"{name}*"))
        top = sorted(
            (
                (p.name, sum(f.stat().st_size for f in p.rglob("*") if f.is_file()))
                for p in python.iterdir()
                if p.is_dir()
            ),
            key=lambda item: item[1],
            reverse=True,
        )[:5]

    print(f"## Layer {LAYER_ID}: {origin}")
    print(f"files     {len(files):>12,}")
    print(
        f"unzipped  {unzipped:>12,} bytes  ({unzipped / 2**20:.1f} MiB; Lambda limit 250 MiB incl. functions)"
    )
    print(f"zipped    {zipped:>12,} bytes  ({zipped / 2**20:.1f} MiB, deflate)")
    print(
        "largest   "
        + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in top if not name.endswith("-info"))
    )
    print(f"boto3/botocore bundled: {'YES: ' + ', '.join(sdk) if sdk else 'no (from the Lambda runtime)'}")
    print()
    return not sdk


# ---------------------------------------------------------------- publish: ours vs seed 000

# The publish sections run the real publish service in this process: moto for DynamoDB, the
# emulator as a real HTTP server (so every sevDesk call crosses a socket, like httpx in Lambda).
BENCH_TABLE = "sevdesk-bench-state"
BENCH_TOKEN = "0123456789abcdef0123456789abcdef"
HANDOVER_FIXTURE = REPO_ROOT / "events" / "billing_invoice_put.json"
PUBLISH_FIXTURE = REPO_ROOT / "events" / "invoice_publish.json"
# DESIGN/issue target for the DynamoDB calls of one publish through its route.
MAX_DYNAMODB_CALLS_PER_PUBLISH = 8
POSITION_COUNTS = (1, 10, 100)
LATENCY_INVOICES = 20
LATENCY_POSITIONS = 10


def _route_of(method: str, path: str) -> str:
    return method + " " + re.sub(r"/\d+", "/{id}", path)


@dataclass
class PublishRun:
    requests: int
    by_route: dict[str, int]
    seconds: float
    sevdesk_id: str
    dynamodb_calls: int = 0
    dynamodb_seconds: float = 0.0
    dynamodb_operations: dict[str, int] | None = None


class PublishBench:
    """moto + emulator + the layer on sys.path; publishes the same hand-overs two ways."""

    def __init__(self, stack: ExitStack) -> None:
        for path in (str(LAYER_SOURCE), str(REPO_ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        from devtools.sevdesk_emulator import SevdeskEmulator

        self.emu = SevdeskEmulator(token=BENCH_TOKEN)
        server = self.emu.serve(host="127.0.0.1", port=0)
        stack.callback(server.stop)
        stack.enter_context(_patched_env(_bench_env(server.base_url)))
        from moto import mock_aws

        stack.enter_context(mock_aws())
        self._create_table()
        self._clear_caches()
        stack.callback(self._clear_caches)
        self._db_calls: list[float] = []  # seconds per DynamoDB call in the current measurement
        self._db_operations: Counter[str] = Counter()
        self._db_started = 0.0
        self._watch_dynamodb()
        self.http = stack.enter_context(
            httpx.Client(base_url=server.base_url, headers={"Authorization": BENCH_TOKEN}, timeout=30)
        )
        self.fixture = json.loads(json.loads(HANDOVER_FIXTURE.read_text())["body"])
        self.serial = 0
        self.sev_user_id = self.http.get("/SevUser").json()["objects"][0]["id"]

    @staticmethod
    def _create_table() -> None:
        import boto3

        (table,) = (
            res for res in load_template()["Resources"].values() if res["Type"] == "AWS::DynamoDB::Table"
        )
        props = table["Properties"]
        boto3.client("dynamodb").create_table(
            TableName=BENCH_TABLE,
            BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
        )

    @staticmethod
    def _clear_caches() -> None:
        from aws_lambda_powertools.utilities import parameters

        from sevdesk_common import repository
        from sevdesk_common.clients import clear_client_cache
        from sevdesk_common.settings import get_settings

        get_settings.cache_clear()
        repository.get_table.cache_clear()
        parameters.clear_caches()
        clear_client_cache()

    def _watch_dynamodb(self) -> None:
        """Time every call on the layer's table client (lease, versioned writes, events, the
        outbound budget): moto answers in-process, so this share is not DynamoDB's real latency."""
        from sevdesk_common.repository import get_table

        def before(model: Any = None, **_: Any) -> None:
            self._db_operations[getattr(model, "name", "?")] += 1
            self._db_started = time.perf_counter()

        def after(**_: Any) -> None:
            self._db_calls.append(time.perf_counter() - self._db_started)

        events = get_table().meta.client.meta.events
        events.register("before-call.dynamodb", before)
        events.register("after-call.dynamodb", after)

    def hand_over(self, positions: int, customer: str | None = None) -> tuple[str, Any]:
        """A fresh hand-over of the fixture's invoice with `positions` positions and a new
        recipient, so both approaches look the contact up and create it."""
        from sevdesk_common.auth import Caller
        from sevdesk_common.models.invoice import InvoiceHandover
        from sevdesk_common.services.billing import hand_over

        self.serial += 1
        body = json.loads(json.dumps(self.fixture))
        body["invoiceNumber"] = f"RE-BENCH-{self.serial:05d}"
        body["company"]["id"] = customer or f"bench-company-{self.serial}"
        template = body["positions"]
        body["positions"] = [dict(template[i % len(template)], name=f"Pos {i + 1}") for i in range(positions)]
        handover = InvoiceHandover.model_validate_json(json.dumps(body))
        invoice_id = f"BENCH-{self.serial:05d}"
        caller = Caller("bench-staff", frozenset({"staff"}), internal=True, is_admin=False, is_staff=True)
        hand_over(invoice_id, handover, caller)
        return invoice_id, handover

    def warm_up(self) -> None:
        """One untimed publish each way: imports, the client, connection pools and the cached
        contact person (GET /SevUser, once per process) are not per-publish costs."""
        invoice_id, handover = self.hand_over(1)
        self.ours(invoice_id)
        self.naive(handover)

    def _measure(self, action: Callable[[], str]) -> PublishRun:
        from sevdesk_common.observability import metrics

        self.emu.requests.clear()
        self._db_calls.clear()
        self._db_operations.clear()
        start = time.perf_counter()
        sevdesk_id = action()
        seconds = time.perf_counter() - start
        # the handler's decorator would flush these per invocation; here they would pile up
        metrics.clear_metrics()
        routes = Counter(_route_of(r.method, r.path) for r in list(self.emu.requests))
        calls = list(self._db_calls)
        operations = dict(self._db_operations)
        return PublishRun(
            sum(routes.values()), dict(routes), seconds, sevdesk_id, len(calls), sum(calls), operations
        )

    def ours(self, invoice_id: str) -> PublishRun:
        """Through the route's Lambda handler: the per-user limiter's call counts too."""
        from functions.invoice_publish.app import lambda_handler

        event = json.loads(PUBLISH_FIXTURE.read_text())
        event["pathParameters"] = {"invoiceId": invoice_id}
        path = f"/api/sevdesk/invoices/{invoice_id}/publish"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        claims["sub"] = "bench-staff"

        def run() -> str:
            answer = lambda_handler(event, _BenchContext())
            body = json.loads(answer["body"])
            if answer["statusCode"] != 200:
                raise RuntimeError(f"publish answered {answer['statusCode']}: {body}")
            return str(body["externalId"])

        return self._measure(run)

    def naive(self, handover: Any) -> PublishRun:
        return self._measure(lambda: self._naive_publish(handover))

    def _naive_publish(self, handover: Any) -> str:
        """Seed 000: the same contact lookup/creation, then POST /Invoice, one POST /InvoicePos per
        position, and sendBy so it ends finalized like ours."""
        company = handover.company
        # its own customer number: ours created the recipient's contact already
        customer_number = f"NAIVE-{handover.recipient_key()}"
        found = self._objects(
            self.http.get("/Contact", params={"customerNumber": customer_number, "depth": 1})
        )
        if found:
            contact_id = found[0]["id"]
        else:
            contact = {"name": company.name, "customerNumber": customer_number, "vatNumber": company.vat_id}
            contact_id = self._post("/Contact", {**contact, "category": _ref("Category", 3)})["id"]
            address = company.address
            self._post(
                "/ContactAddress",
                {
                    "contact": _ref("Contact", contact_id),
                    "street": address.street,
                    "zip": address.zip,
                    "city": address.city,
                    "country": _ref("StaticCountry", 1),
                    "category": _ref("Category", 47),
                },
            )
            if company.email:
                self._post(
                    "/CommunicationWay",
                    {
                        "contact": _ref("Contact", contact_id),
                        "type": "EMAIL",
                        "value": company.email,
                        "key": _ref("CommunicationWayKey", 2),
                        "main": True,
                    },
                )
        invoice = self._post(
            "/Invoice",
            {
                "objectName": "Invoice",
                "mapAll": True,
                "contact": _ref("Contact", contact_id),
                "contactPerson": _ref("SevUser", self.sev_user_id),
                "invoiceDate": handover.invoice_date.strftime("%d.%m.%Y"),
                "status": 100,
                "invoiceType": "RE",
                "currency": handover.currency,
                "taxRule": _ref("TaxRule", 1),
                "taxRate": 0,
                "showNet": True,
                "timeToPay": handover.time_to_pay_days,
                "customerInternalNote": f"naive:{handover.invoice_number}",
                "addressName": company.name,
                "addressStreet": company.address.street,
                "addressZip": company.address.zip,
                "addressCity": company.address.city,
            },
        )
        for position in handover.positions:
            self._post(
                "/InvoicePos",
                {
                    "objectName": "InvoicePos",
                    "mapAll": True,
                    "invoice": _ref("Invoice", invoice["id"]),
                    "name": position.name,
                    "quantity": str(position.quantity),
                    "price": str(position.unit_price),
                    "taxRate": str(position.tax_rate),
                    "unity": _ref("Unity", 1),
                },
            )
        sent = self.http.put(
            f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False}
        )
        sent.raise_for_status()
        return str(invoice["id"])

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        found = self._objects(self.http.post(path, json=body))
        return found[0] if isinstance(found, list) else found

    @staticmethod
    def _objects(response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()["objects"]

    def check(self, run: PublishRun, handover: Any) -> str | None:
        """Both approaches must leave the same invoice: finalized, all positions, the same sums."""
        invoice = self.emu.state.invoices.get(run.sevdesk_id)
        if invoice is None:
            return f"sevDesk invoice {run.sevdesk_id} missing"
        positions = sum(1 for p in self.emu.state.positions.values() if p["invoice"]["id"] == run.sevdesk_id)
        if invoice["status"] == "100" or positions != len(handover.positions):
            return f"invoice {run.sevdesk_id}: status {invoice['status']}, {positions} positions"
        if Decimal(invoice["sumGross"]) != handover.gross_amount:
            return f"invoice {run.sevdesk_id}: sumGross {invoice['sumGross']} != {handover.gross_amount}"
        return None


def _ref(object_name: str, object_id: str | int) -> dict[str, Any]:
    return {"id": int(object_id), "objectName": object_name}


def _bench_env(base_url: str) -> dict[str, str | None]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL": None,
        "AWS_PROFILE": None,
        "TABLE_NAME": BENCH_TABLE,
        "SEVDESK_SECRET_ID": "bench-token",
        "SEVDESK_API_TOKEN": BENCH_TOKEN,
        "SEVDESK_BASE_URL": base_url,
        "POWERTOOLS_SERVICE_NAME": "sevdesk-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "SevdeskBench",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # The outbound budget is not what is measured: 20 publishes would exceed 100/min.
        "BUDGET_DEFAULT_PER_MINUTE": "100000",
    }


@contextmanager
def _patched_env(values: dict[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _BenchContext:
    function_name = "InvoicePublishFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:InvoicePublishFunction"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/InvoicePublishFunction"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def _operations(run: PublishRun) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted((run.dynamodb_operations or {}).items()))


def _routes(run: PublishRun) -> str:
    return ", ".join(f"{route} {count}" for route, count in sorted(run.by_route.items()))


@section("publish-requests")
def publish_requests(options: Options) -> bool:
    rows: list[tuple[int, PublishRun, PublishRun]] = []
    problems: list[str] = []
    with ExitStack() as stack:
        bench = PublishBench(stack)
        bench.warm_up()
        for count in POSITION_COUNTS:
            invoice_id, handover = bench.hand_over(count)
            ours = bench.ours(invoice_id)
            naive = bench.naive(handover)
            problems += [p for p in (bench.check(ours, handover), bench.check(naive, handover)) if p]
            rows.append((count, ours, naive))
        invoice_id, _ = bench.hand_over(2, customer="bench-returning")
        new_customer = bench.ours(invoice_id)
        invoice_id, _ = bench.hand_over(2, customer="bench-returning")
        returning = bench.ours(invoice_id)

    print("## sevDesk requests per publish (in-process publish service vs seed 000, same emulator)")
    print("Each publish: a fresh hand-over with a new recipient (contact looked up and created).")
    header = f"{'positions':>9} | {'ours (requests)':>15} | {'naive (requests)':>16}"
    print(header)
    print("-" * len(header))
    for count, ours, naive in rows:
        print(f"{count:>9} | {ours.requests:>15} | {naive.requests:>16}")
    print(f"ours  ({rows[-1][0]} positions): {_routes(rows[-1][1])}")
    print(f"naive ({rows[-1][0]} positions): {_routes(rows[-1][2])}")
    print(
        "ours also makes DynamoDB calls per publish: "
        + ", ".join(f"{count} positions {ours.dynamodb_calls}" for count, ours, _ in rows)
    )
    print(
        f"DynamoDB calls per publish through the route (target <= {MAX_DYNAMODB_CALLS_PER_PUBLISH}): "
        f"new customer {new_customer.dynamodb_calls} ({_operations(new_customer)}); "
        f"returning customer {returning.dynamodb_calls} ({_operations(returning)})"
    )
    within = max(new_customer.dynamodb_calls, returning.dynamodb_calls) <= MAX_DYNAMODB_CALLS_PER_PUBLISH
    constant = len({ours.requests for _, ours, _ in rows}) == 1 and within
    print(f"ours constant in the positions: {'yes' if constant else 'NO'}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    return constant and not problems


def _latency_line(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return f"{label:<24} {statistics.median(ms):>9.1f} {p95:>9.1f} {max(ms):>9.1f}"


@section("publish-latency")
def publish_latency(options: Options) -> bool:
    ours_s: list[float] = []
    ours_db: list[float] = []
    db_calls: set[int] = set()
    naive_s: list[float] = []
    problems: list[str] = []
    with ExitStack() as stack:
        bench = PublishBench(stack)
        bench.warm_up()
        for _ in range(LATENCY_INVOICES):
            invoice_id, handover = bench.hand_over(LATENCY_POSITIONS)
            ours = bench.ours(invoice_id)
            naive = bench.naive(handover)
            problems += [p for p in (bench.check(ours, handover), bench.check(naive, handover)) if p]
            ours_s.append(ours.seconds)
            ours_db.append(ours.dynamodb_seconds)
            db_calls.add(ours.dynamodb_calls)
            naive_s.append(naive.seconds)

    print(
        f"## Publish latency in-process against the emulator ({LATENCY_INVOICES} invoices, "
        f"{LATENCY_POSITIONS} positions, each a fresh hand-over; host CPU, loopback HTTP)"
    )
    print("ours = publish_invoice incl. its lease, versioned writes, event log and budget in DynamoDB")
    print("(moto, in-process); naive = its HTTP calls only, no state kept.")
    print(f"{'':<24} {'median ms':>9} {'p95 ms':>9} {'max ms':>9}")
    print(_latency_line("ours", ours_s))
    calls = "/".join(str(n) for n in sorted(db_calls))
    print(_latency_line(f"  of it DynamoDB, {calls} calls", ours_db))
    print(_latency_line("naive", naive_s))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    return not problems


# ---------------------------------------------------------------- payment sync vs one request per invoice

# N open invoices (all in DynamoDB's sparse index and in sevDesk), 1 % of them changed in sevDesk
# since the last run, in this mix. Ours reads the changes; the R1 design reads every invoice.
SYNC_SIZES = (100, 1_000, 10_000, 100_000)
SYNC_CHANGED = 0.01
SYNC_MIX = (
    "paid",
    "partial",
    "paid",
    "overpaid",
    "written_off",
    "paid",
    "cancelled",
    "partial",
    "paid",
    "written_off",
)
SYNC_EXPECTED = {"paid": "paid", "partial": "partiallyPaid", "overpaid": "overpaid"}
NAIVE_SAMPLE = 1_000  # above this many invoices the naive run's time is extrapolated from this many GETs
# moto's GSI Query is quadratic in the table size: above this the reconciliation's candidates come
# from memory and its Query pages are computed from the page fill measured below it.
QUERY_LIMIT = 1_000
NAIVE_QUERY_PAGE = 500  # invoice_store.query_payment_sync_candidates' page size
CYCLE_MINUTES, RECONCILE_MINUTES, BUDGET_PER_MINUTE = 10, 60, 100


@dataclass
class SyncRow:
    size: int
    changed: int
    ours: tuple[int, int, float]  # sevDesk requests, DynamoDB reads, seconds
    reconcile: tuple[int, int, float, str]
    naive: tuple[int, int, float, str]
    misread: int  # changed invoices the naive status reading reports as paid although they are not


class SyncBench:
    """One size: the emulator seeded with N finalized invoices (as of yesterday), moto holding
    our N published records, the run state as after a sync a moment ago."""

    def __init__(self, stack: ExitStack, size: int) -> None:
        for path in (str(LAYER_SOURCE), str(REPO_ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        from datetime import UTC, datetime, timedelta

        from devtools.sevdesk_emulator import SevdeskEmulator

        self.size = size
        self.emu = SevdeskEmulator(token=BENCH_TOKEN)
        server = self.emu.serve(host="127.0.0.1", port=0)
        stack.callback(server.stop)
        stack.enter_context(_patched_env(_bench_env(server.base_url)))
        from moto import mock_aws

        from devtools.local import moto_patches

        moto_patches.install()  # moto would copy the whole table on every transaction
        stack.enter_context(mock_aws())
        PublishBench._create_table()
        PublishBench._clear_caches()
        stack.callback(PublishBench._clear_caches)
        self.http = stack.enter_context(
            httpx.Client(base_url=server.base_url, headers={"Authorization": BENCH_TOKEN}, timeout=30)
        )
        now = datetime.now(UTC)
        yesterday = now - timedelta(days=1)
        real_clock = self.emu.clock
        self.emu.clock = lambda: yesterday  # seeded invoices last changed before the watermark
        self.external_ids = self.emu.seed_invoices(
            size, paid=0, partial=0, cancelled=0, note_prefix="R1-INVOICE:BENCH-"
        )
        self.emu.clock = real_clock
        self._store_records()
        self._set_state(now, reconciled=now)

    def _store_records(self) -> None:
        """N published, open records straight into moto's table: one item validated by moto,
        the rest copies with their own keys and ids (put_item would take minutes at 100,000)."""
        import copy
        from datetime import UTC, datetime

        from boto3.dynamodb.types import TypeSerializer
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        from sevdesk_common import invoice_store
        from sevdesk_common.models.invoice import InvoiceHandover
        from sevdesk_common.models.record import InvoiceRecord

        handover = InvoiceHandover.model_validate_json(json.loads(HANDOVER_FIXTURE.read_text())["body"])
        template = InvoiceRecord.handed_over("BENCH-MODEL", handover, "bench", datetime.now(UTC)).changed(
            external_id="0", external_invoice_number="RE-0", accounting_sync_status="synced",
            document_status="finalized",
        )  # fmt: skip
        serialize = TypeSerializer().serialize
        typed = {
            k: serialize(v) for k, v in invoice_store._item(template).items()
        }  # the store's own item shape
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].get_table(BENCH_TABLE)
        model = table.put_item(typed)
        for index, external_id in enumerate(self.external_ids):
            invoice_id = f"BENCH-{index}"
            item = copy.copy(model)
            item.attrs = type(model.attrs)()
            dict.update(item.attrs, model.attrs)  # a plain copy: the size check runs per attribute
            fields = {
                "pk": f"INVOICE#{invoice_id}",
                "invoiceId": invoice_id,
                "externalId": external_id,
                "externalInvoiceNumber": self.emu.state.invoices[external_id]["invoiceNumber"],
                "gsi1sk": f"{external_id}#{invoice_id}",
            }
            for name, value in fields.items():
                dict.__setitem__(item.attrs, name, DynamoType({"S": value}))
            item.hash_key = item.attrs["pk"]
            table.items[item.hash_key][item.range_key] = item
        table.delete_item(model.hash_key, model.range_key)

    @staticmethod
    def _set_state(watermark: Any, *, reconciled: Any) -> None:
        from sevdesk_common import payment_sync_store
        from sevdesk_common.models.payment_sync import SyncState

        current = payment_sync_store.load_state()
        wanted = SyncState(watermark=watermark, last_reconciled_at=reconciled, version=current.version)
        if not payment_sync_store.save_state(wanted):
            raise RuntimeError("sync state not stored")

    def change(self) -> Counter[str]:
        """1 % of the invoices, evenly spread, change in sevDesk now, in SYNC_MIX's proportions."""
        from devtools.sevdesk_emulator.cancellation import cancel_invoice

        count = max(1, round(self.size * SYNC_CHANGED))
        step = self.size // count
        kinds: Counter[str] = Counter()
        for n in range(count):
            external_id = self.external_ids[n * step]
            kind = SYNC_MIX[n % len(SYNC_MIX)]
            if kind == "paid":
                self.emu.book_payment(external_id, "65.45")
            elif kind == "partial":
                self.emu.book_payment(external_id, "20.00", account="cash")
            elif kind == "overpaid":
                self.emu.book_payment(external_id, "70.00")
            elif kind == "written_off":
                self.emu.book_payment(external_id, "10.00")
                self.emu.write_off(external_id)
            else:
                with self.emu.lock:
                    cancel_invoice(self.emu, external_id)
            kinds[kind] += 1
        return kinds

    def ours(self) -> tuple[tuple[int, int, float], Any]:
        from sevdesk_common.clients import sevdesk_client
        from sevdesk_common.observability import metrics
        from sevdesk_common.services.payment_sync import SyncRun

        self.emu.requests.clear()
        start = time.perf_counter()
        summary = SyncRun(sevdesk_client(), trigger="manual", actor="bench").run_all(reconcile=False)
        seconds = time.perf_counter() - start
        metrics.clear_metrics()
        if summary.sevdesk_requests != self.emu.requests.total:
            raise RuntimeError(f"counted {summary.sevdesk_requests}, sevDesk saw {self.emu.requests.total}")
        return (summary.sevdesk_requests, summary.dynamodb_reads, seconds), summary

    @staticmethod
    def query_page_fill() -> float:
        """Open invoices per Query page of the sparse index: a page holds 1 MB of items (moto
        applies the same limit to what it returns)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].get_table(BENCH_TABLE)
        sizes = [
            i.size() for r in list(table.items.values())[:100] for i in r.values() if "gsi1pk" in i.attrs
        ]
        return RESULT_SIZE_LIMIT / (sum(sizes) / len(sizes))

    def reconcile(self, page_fill: float | None) -> tuple[int, int, float, str]:
        """The hourly reconciliation right after: every open invoice compared, nothing changed."""
        from datetime import UTC, datetime, timedelta

        from sevdesk_common import payment_sync_store
        from sevdesk_common.clients import sevdesk_client
        from sevdesk_common.observability import metrics
        from sevdesk_common.services import payment_sync
        from sevdesk_common.services.payment_sync import SyncRun

        now = datetime.now(UTC)
        self._set_state(now, reconciled=now - timedelta(hours=2))
        note = ""
        real = payment_sync_store.iter_candidates
        if self.size > QUERY_LIMIT:
            candidates = list(self._candidates_in_memory())
            payment_sync.payment_sync_store.iter_candidates = lambda: iter(candidates)  # type: ignore[attr-defined]
            note = "Query pages computed"
        self.emu.requests.clear()
        try:
            start = time.perf_counter()
            summary = SyncRun(sevdesk_client(), trigger="manual", actor="bench").run_all(reconcile=True)
            seconds = time.perf_counter() - start
        finally:
            payment_sync.payment_sync_store.iter_candidates = real  # type: ignore[attr-defined]
            metrics.clear_metrics()
        reads = summary.dynamodb_reads
        if note and page_fill:
            reads += math.ceil(len(candidates) / page_fill)
        if summary.reconciliation != "complete" or summary.changed.total():
            raise RuntimeError(f"reconciliation {summary.reconciliation}, changed {summary.changed}")
        return summary.sevdesk_requests, reads, seconds, note

    @staticmethod
    def _candidates_in_memory() -> Iterator[Any]:
        """The sparse index's entries read from moto's table in-process (no Query)."""
        from decimal import Decimal

        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from sevdesk_common.payment_sync_store import Candidate

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].get_table(BENCH_TABLE)
        for by_range in list(table.items.values()):
            for item in list(by_range.values()):
                attrs = item.attrs
                if "gsi1pk" in attrs:
                    paid_at = attrs["paidAt"].value if "paidAt" in attrs else None
                    yield Candidate(
                        attrs["invoiceId"].value, attrs["externalId"].value, attrs["claimStatus"].value,
                        Decimal(attrs["paidAmount"].value), datetime_from(paid_at) if paid_at else None,
                    )  # fmt: skip

    def naive(self) -> tuple[int, int, float, str]:
        """The R1 design: every candidate from the index, then GET /Invoice/{id} for each."""
        from sevdesk_common import invoice_store, payment_sync_store

        reads, note = -(-self.size // NAIVE_QUERY_PAGE), "reads computed"
        if self.size <= NAIVE_SAMPLE:
            before = payment_sync_store.reads_so_far()
            invoice_store.query_payment_sync_candidates()
            reads, note = payment_sync_store.reads_so_far() - before, ""
        sample = self.external_ids[: min(self.size, NAIVE_SAMPLE)]
        start = time.perf_counter()
        for external_id in sample:
            self.http.get(f"/Invoice/{external_id}").raise_for_status()
        seconds = (time.perf_counter() - start) * self.size / len(sample)
        if len(sample) < self.size:
            note = ", ".join(filter(None, [note, f"time from {len(sample):,} GETs"]))
        return self.size, reads, seconds, note

    def misread(self, kinds: Counter[str]) -> int:
        """Changed invoices a status-only reading calls paid: cancelled (1000/0) and written off."""
        return kinds["cancelled"] + kinds["written_off"]

    def check(self, kinds: Counter[str], summary: Any) -> list[str]:
        changed = summary.changed.model_dump()
        wanted = {
            SYNC_EXPECTED.get(k, "writtenOff" if k == "written_off" else k): n for k, n in kinds.items()
        }
        problems = [
            f"{k}: {changed.get(k, 0)} changed, {n} expected"
            for k, n in wanted.items()
            if changed.get(k) != n
        ]
        if summary.failed_count:
            problems.append(f"{summary.failed_count} failures: {summary.failed[:3]}")
        return problems


def datetime_from(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def _sync_cell(figures: tuple[Any, ...]) -> str:
    return f"{figures[0]:>8,} {figures[1]:>7,} {figures[2]:>9.2f}"


@section("payment-sync")
def payment_sync(options: Options) -> bool:
    rows: list[SyncRow] = []
    problems: list[str] = []
    for size in SYNC_SIZES:
        with ExitStack() as stack:
            bench = SyncBench(stack, size)
            kinds = bench.change()
            ours, summary = bench.ours()
            problems += [f"{size:,}: {p}" for p in bench.check(kinds, summary)]
            reconcile = bench.reconcile(bench.query_page_fill())
            naive = bench.naive()
            rows.append(SyncRow(size, sum(kinds.values()), ours, reconcile, naive, bench.misread(kinds)))

    print("## Payment sync per run: N open invoices, 1 % changed in sevDesk since the last run")
    print("(the sync service in-process, the emulator over loopback HTTP, moto in-process; host CPU)")
    print(f"changes: {', '.join(SYNC_MIX)}, repeating")
    print(
        "req = sevDesk requests, reads = DynamoDB read calls (GetItem, BatchGetItem, Query pages), s = wall"
    )
    groups = ("ours, every run", "hourly: + reconciliation", "one GET per invoice (R1)")
    header = f"{'open':>8} {'changed':>7} | " + " | ".join(f"{g:^26}" for g in groups) + " | naive reads"
    print(header)
    print(f"{'':>16} | " + " | ".join(f"{'req':>8} {'reads':>7} {'s':>9}" for _ in groups) + " | as paid")
    print("-" * len(header))
    notes: set[str] = set()
    for row in rows:
        notes.update(n for n in (row.reconcile[3], row.naive[3]) if n)
        cells = " | ".join(_sync_cell(figures) for figures in (row.ours, row.reconcile, row.naive))
        print(f"{row.size:>8,} {row.changed:>7,} | {cells} | {row.misread:>7}")
    for note in sorted(notes):
        print(f"  {note}: above {QUERY_LIMIT:,} (reconciliation) / {NAIVE_SAMPLE:,} (naive) open invoices")
    big = rows[-1]
    cycles_per_reconciliation = RECONCILE_MINUTES / CYCLE_MINUTES
    per_cycle = big.ours[0] + big.reconcile[0] / cycles_per_reconciliation
    budget = CYCLE_MINUTES * BUDGET_PER_MINUTE
    kept = int(big.size * budget / per_cycle)
    print(
        f"one {CYCLE_MINUTES}-minute cycle at {big.size:,} open invoices: {big.ours[0]} requests + "
        f"{big.reconcile[0]}/{cycles_per_reconciliation:.0f} for the hourly reconciliation = {per_cycle:.1f} "
        f"of {budget:,} ({BUDGET_PER_MINUTE}/min)"
    )
    print(
        f"open invoices kept in sync per cycle inside the budget: ours >= {kept:,} (linear from the "
        f"{big.size:,} run; fixed costs make it more), one GET per invoice {budget:,}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    return not problems and kept >= 100_000


# ---------------------------------------------------------------- DATEV export (scripts/bench_datev.py)


@section("datev-memory")
def datev_memory(options: Options) -> bool:
    import bench_datev

    return bench_datev.store_memory()


@section("datev-lambda-seconds")
def datev_lambda_seconds(options: Options) -> bool:
    import bench_datev

    return bench_datev.lambda_seconds()


# ---------------------------------------------------------------- cached reads: contacts, KPIs

CONTACTS = 1000
CONTACT_VIEWS = 20  # the same page shown this often within the cache's five minutes
KPI_INVOICES = 5000
KPI_VOUCHERS = 2000
KPI_VIEWS = 20


def _requests_by_route(emu: Any) -> Counter[str]:
    return Counter(_route_of(r.method, r.path) for r in list(emu.requests))


def _counted(emu: Any, action: Callable[[], Any]) -> tuple[int, float, Counter[str], Any]:
    emu.requests.clear()
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    routes = _requests_by_route(emu)
    return sum(routes.values()), seconds, routes, result


@section("contacts-requests")
def contacts_requests(options: Options) -> bool:
    with ExitStack() as stack:
        bench = PublishBench(stack)
        from devtools.sevdesk_emulator.api_contacts import build_contact
        from sevdesk_common.services.customers import list_contacts

        for n in range(CONTACTS):
            build_contact(
                bench.emu, {"name": f"Kunde {n:04d}", "customerNumber": f"K-{n:04d}", "category": {"id": 3}}
            )

        def page() -> Any:
            return list_contacts(name=None, customer_number=None, category=None, limit=50, offset=0)

        cold, cold_s, cold_routes, first = _counted(bench.emu, page)
        warm, warm_s, _, second = _counted(bench.emu, page)
        views, _, _, _ = _counted(bench.emu, lambda: [page() for _ in range(CONTACT_VIEWS)])

        def seed_000() -> int:  # seed 000's route without its cache: one proxy read per request
            return len(bench._objects(bench.http.get("/Contact", params={"depth": 1})))

        naive, naive_s, _, shown = _counted(bench.emu, seed_000)
        naive_views, _, _, _ = _counted(bench.emu, lambda: [seed_000() for _ in range(CONTACT_VIEWS)])

    print(f"## sevDesk requests for GET /api/sevdesk/contacts ({CONTACTS} contacts, pages of 50)")
    print(f"{'':<34} {'requests':>8} {'ms':>8}")
    print(f"{'ours, cold cache':<34} {cold:>8} {cold_s * 1000:>8.1f}   ({_join(cold_routes)})")
    print(f"{'ours, warm cache':<34} {warm:>8} {warm_s * 1000:>8.1f}   (ageSeconds {second.age_seconds})")
    print(f"{f'ours, {CONTACT_VIEWS} views of the page':<34} {views:>8}")
    seed_line = f"{'seed 000, one uncached read':<34} {naive:>8} {naive_s * 1000:>8.1f}"
    print(f"{seed_line}   (shows {shown} of {CONTACTS})")
    print(f"{f'seed 000, {CONTACT_VIEWS} views':<34} {naive_views:>8}")
    print(f"ours pages on: total {first.total}, nextOffset {first.next_offset}")
    print()
    return warm == 0 and cold == 1 and views == 0 and second.cached


@section("kpi-requests")
def kpi_requests(options: Options) -> bool:
    from datetime import datetime

    with ExitStack() as stack:
        bench = PublishBench(stack)
        from devtools.sevdesk_emulator.wire import BERLIN
        from sevdesk_common.services.kpis import revenue_kpis

        year = datetime.now(BERLIN).year
        first_day = datetime(year, 1, 1, tzinfo=BERLIN)
        seeded = time.perf_counter()
        bench.emu.seed_invoices(KPI_INVOICES, first_day=first_day, per_day=14, paid=0.3, partial=0.1,
                                cancelled=0.05, written_off=0.02)  # fmt: skip
        bench.emu.seed_vouchers(KPI_VOUCHERS, first_day=first_day, per_day=6, paid=0.5)
        seeded = time.perf_counter() - seeded
        cold, cold_s, cold_routes, figures = _counted(bench.emu, lambda: revenue_kpis(year))
        warm, warm_s, _, again = _counted(bench.emu, lambda: revenue_kpis(year))
        views, _, _, _ = _counted(bench.emu, lambda: [revenue_kpis(year) for _ in range(KPI_VIEWS)])

        def seed_000() -> int:  # seed 000: one uncached read of a report sevDesk's API does not have
            answer = bench.http.get(
                "/Report/profitAndLoss", params={"startDate": f"{year}-01-01", "endDate": f"{year}-12-31"}
            )
            return answer.status_code

        naive, naive_s, _, status = _counted(bench.emu, seed_000)
        naive_views, _, _, _ = _counted(bench.emu, lambda: [seed_000() for _ in range(KPI_VIEWS)])

    counted = figures.counted
    print(
        f"## sevDesk requests for GET /api/sevdesk/kpis/revenue?year={year} "
        f"({KPI_INVOICES} invoices, {KPI_VOUCHERS} vouchers; seeded in {seeded:.1f} s)"
    )
    print(f"{'':<34} {'requests':>8} {'ms':>8}")
    print(f"{'ours, cold cache':<34} {cold:>8} {cold_s * 1000:>8.1f}   ({_join(cold_routes)})")
    print(f"{'ours, warm cache':<34} {warm:>8} {warm_s * 1000:>8.1f}")
    print(f"{f'ours, {KPI_VIEWS} views':<34} {views:>8}")
    seed_line = f"{'seed 000, one uncached read':<34} {naive:>8} {naive_s * 1000:>8.1f}"
    print(f"{seed_line}   (HTTP {status}: no such report)")
    print(f"{f'seed 000, {KPI_VIEWS} views':<34} {naive_views:>8}")
    print(
        f"ours counted {counted.invoices} invoices, {counted.credit_notes} credit notes, {counted.vouchers} "
        f"vouchers, {counted.bookings} bookings; year: revenue {figures.accrual.total.revenue} accrual, "
        f"{figures.cash.total.revenue} cash (written off {figures.cash.total.written_off}), "
        f"expenses {figures.accrual.total.expenses} accrual, {figures.cash.total.expenses} cash"
    )
    print()
    return warm == 0 and views == 0 and again.cached and cold == figures.sevdesk_requests


def _join(routes: Counter[str]) -> str:
    return ", ".join(f"{route} {count}" for route, count in sorted(routes.items()))


# ---------------------------------------------------------------- drift report

DRIFT_INVOICES = 10_000
DRIFT_PAID_SHARE = 0.01  # booked in sevDesk behind the bundle's back: the drift to find
NAIVE_SAMPLE = 1_000  # per-invoice reads timed on this many, the rest extrapolated


def _bundle_copies(bench: PublishBench, seeded: list[str], contact_id: str) -> None:
    """The bundle's side of the seeded invoices, written straight into its table (like a bundle
    that published them): same ids, numbers, sums, marker and customer."""
    import boto3

    from sevdesk_common import invoice_store
    from sevdesk_common.models.invoice import InvoiceHandover
    from sevdesk_common.models.record import InvoiceRecord

    body = json.loads(json.dumps(bench.fixture))
    body["company"] = {
        "id": "seed",
        "name": "Seed GmbH",
        "address": {"street": "Seedweg 1", "zip": "10115", "city": "Berlin", "country": "DE"},
    }
    body["positions"] = [
        {"name": "Beratung", "quantity": "3", "unitPrice": "10.00", "taxRate": "19"},
        {"name": "Reisekosten", "quantity": "1", "unitPrice": "25.00", "taxRate": "19"},
    ]
    handover = InvoiceHandover.model_validate(body)
    now = datetime.now(UTC)
    table = boto3.resource("dynamodb").Table(BENCH_TABLE)
    with table.batch_writer() as batch:
        for index, sevdesk_id in enumerate(seeded):
            invoice = bench.emu.state.invoices[sevdesk_id]
            record = InvoiceRecord.handed_over(f"R1-BENCH-{index}", handover, "bench", now).changed(
                external_id=sevdesk_id,
                external_invoice_number=invoice["invoiceNumber"],
                sevdesk_contact_id=contact_id,
                document_status="finalized",
                accounting_sync_status="synced",
            )
            batch.put_item(Item=invoice_store._item(record))


@section("drift-report")
def drift_report_figures(options: Options) -> bool:
    with ExitStack() as stack:
        bench = PublishBench(stack)
        from devtools.sevdesk_emulator.api_contacts import build_contact

        contact = build_contact(
            bench.emu, {"name": "Seed GmbH", "category": {"id": 3}, "customerNumber": "R1-CO-seed"}
        )
        started = time.perf_counter()
        seeded = bench.emu.seed_invoices(
            DRIFT_INVOICES,
            contact_id=contact["id"],
            note_prefix="R1-INVOICE:R1-BENCH-",
            paid=DRIFT_PAID_SHARE,
            partial=0,
            cancelled=0,
        )
        _bundle_copies(bench, seeded, contact["id"])
        setup = time.perf_counter() - started

        from sevdesk_common.observability import metrics
        from sevdesk_common.services.reconciliation import drift_report

        bench.emu.requests.clear()
        bench._db_calls.clear()
        started = time.perf_counter()
        report = drift_report()
        ours_seconds = time.perf_counter() - started
        db_seconds = sum(bench._db_calls)
        metrics.clear_metrics()
        ours_routes = Counter(_route_of(r.method, r.path) for r in list(bench.emu.requests))
        db_calls = len(bench._db_calls)

        # the naive way: one GET per invoice the bundle knows (timed on a sample)
        started = time.perf_counter()
        for sevdesk_id in seeded[:NAIVE_SAMPLE]:
            bench.http.get(f"/Invoice/{sevdesk_id}").raise_for_status()
        naive_sample = time.perf_counter() - started
    naive_requests = DRIFT_INVOICES
    naive_seconds = naive_sample * DRIFT_INVOICES / NAIVE_SAMPLE
    expected_paid = round(DRIFT_INVOICES * DRIFT_PAID_SHARE)
    found = report.counts.get("payment_unseen", 0)
    ours_requests = report.sevdesk_requests.total

    title = f"## Drift report over {DRIFT_INVOICES:,} invoices (in-process service, moto, emulator)"
    print(f"{title}; seeding took {setup:.1f} s")
    behind = f"{DRIFT_PAID_SHARE:.0%} paid in sevDesk behind the bundle's back"
    print(f"{behind}: {found} found, {expected_paid} made.")
    print(f"{'':<36} {'sevDesk requests':>16} {'seconds':>9} {'at 100 req/min':>15}")
    rows = [
        ("ours (list reads, 1000 a page)", ours_requests, ours_seconds),
        (f"naive (GET per invoice, {NAIVE_SAMPLE:,} timed)", naive_requests, naive_seconds),
    ]
    for label, requests, seconds in rows:
        print(f"{label:<36} {requests:>16} {seconds:>9.1f} {requests / 100:>13.1f} m")
    print(f"ours by route: {', '.join(f'{route} {n}' for route, n in sorted(ours_routes.items()))}")
    print(f"ours reported {report.sevdesk_requests.by_operation}")
    print(
        f"of ours' {ours_seconds:.1f} s, {db_seconds:.1f} s were {db_calls} DynamoDB calls (the invoices' "
        "summaries via gsi2, the budget) answered by moto in-process, which copies every item it reads"
    )
    print()
    return found == expected_paid and ours_requests <= DRIFT_INVOICES // 1000 + 3


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per measurement (default 7)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default all)",
    )
    parser.add_argument("--fresh-layer", action="store_true", help="always rebuild the layer into a temp dir")
    parser.add_argument(
        "--compare-to", metavar="REF", help="also measure cold imports at this git ref, side by side"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    if shutil.which("make") is None and "layer" in chosen:
        parser.error("the layer section needs make")
    options = Options(runs=max(1, args.runs), fresh_layer=args.fresh_layer, compare_to=args.compare_to)
    results = {name: SECTIONS[name](options) for name in chosen}
    failed = [name for name, ok in results.items() if not ok]
    if failed:
        print(f"figures off target in: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
