"""DATEV export figures, registered as sections by scripts/benchmark.py:

- datev-memory: the store step's peak memory for a 5 MB and a 200 MB ZIP. Each run is a fresh
  child process (its peak RSS is what Lambda's memory limit would see; tracemalloc's peak is the
  Python objects alone) against moto's server and the sevDesk emulator in this process. Ours
  streams into a multipart upload; the naive store reads the whole ZIP, then PUTs it. "idle" is
  the same child with the same imports doing nothing: the floor.
- datev-lambda-seconds: one export through the local stack (the real ASL in moto, the steps in
  Lambda-like worker processes): the steps' invocations and their seconds, cold and warm. A
  single Lambda that polled in a loop would also be billed for every wait between polls.

Run as a child: bench_datev.py child <ours|naive|idle> <link> <key>
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZES_MB = (5, 200)
LIMIT_MB = 100  # the store step's own memory (above the idle process) stays under this
PART_MB = 8 * 1024 * 1024 / 1e6  # export_part_bytes' default: what the memory is bounded by
BUCKET = "bench-datev-exports"
TOKEN = "0123456789abcdef0123456789abcdef"
STEP_FUNCTIONS = (
    "DatevExportPreconditionFunction",
    "DatevExportCreateFunction",
    "DatevExportProgressFunction",
    "DatevExportStoreFunction",
)


# ---------------------------------------------------------------- datev-memory


def _importable() -> None:
    for path in (str(REPO_ROOT / "layers" / "common"), str(REPO_ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _servers() -> Iterator[tuple[Any, str, str]]:
    """The emulator and moto's server (with the bucket), both in this process."""
    import logging

    from moto.server import ThreadedMotoServer

    from devtools.sevdesk_emulator import SevdeskEmulator

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines between the figures
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    emu = SevdeskEmulator(token=TOKEN)
    server = emu.serve(host="127.0.0.1", port=0)
    try:
        import boto3

        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="eu-central-1", **_CREDENTIALS)
        s3.create_bucket(  # Object Lock like template.yaml's ExportBucket: the store step locks the ZIP
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
            ObjectLockEnabledForBucket=True,
        )
        yield emu, server.base_url, moto_url
    finally:
        server.stop()
        moto.stop()


_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def _export_link(emu: Any, base_url: str, size_mb: int) -> str:
    """A finished DATEV job of the emulator padded to `size_mb`; its presigned-style link."""
    import httpx

    emu.export_zip_size_bytes = size_mb * 1_000_000
    emu.export_progress_polls = 1
    with httpx.Client(base_url=base_url, headers={"Authorization": TOKEN}, timeout=60) as api:
        client_id = emu.state.sev_client["id"]
        api.put(f"/SevClient/{client_id}/updateExportConfig", json={"accountingYearBegin": 1767222000})
        params = {"startDate": 1767222000, "endDate": 1769900399, "scope": "EX"}
        job = api.get("/Export/createDatevCsvZipExportJob", params=params).json()["objects"]
        info = api.get("/ExportJob/jobDownloadInfo", params={"jobId": job}).json()["objects"]
    return str(info["link"])


def _stored_sha256(moto_url: str, key: str) -> str:
    import hashlib

    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="eu-central-1", **_CREDENTIALS)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def _child_env(moto_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "EXPORT_BUCKET": BUCKET,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }


def _run_child(mode: str, link: str, key: str, moto_url: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "child", mode, link, key],
        env=_child_env(moto_url),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{completed.stderr[-2000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def store_memory() -> bool:
    """Section datev-memory; False when ours exceeds LIMIT_MB or grows with the size."""
    _importable()
    rows: list[tuple[int, dict[str, dict[str, Any]]]] = []
    with _servers() as (emu, base_url, moto_url):
        for size_mb in SIZES_MB:
            link = _export_link(emu, base_url, size_mb)
            runs = {
                mode: _run_child(mode, link, f"datev/bench/{mode}-{size_mb}.zip", moto_url)
                for mode in ("idle", "ours", "naive")
            }
            # each download is a fresh archive (entry times differ): compare sizes, and check that
            # ours' sha256 is the one of what it stored
            if runs["ours"]["size"] != runs["naive"]["size"]:
                raise RuntimeError("ours and naive stored different sizes")
            if runs["ours"]["sha256"] != _stored_sha256(moto_url, f"datev/bench/ours-{size_mb}.zip"):
                raise RuntimeError("ours' sha256 is not the one of the stored object")
            rows.append((size_mb, runs))
    print("## DATEV store step: peak memory by ZIP size (fresh child process per run)")
    print("ours = sevDesk's link streamed into a multipart upload (8 MiB parts), sha256 on the way;")
    print("naive = the whole ZIP read into memory, then one PUT. idle = same imports, no work.")
    header = (
        f"{'ZIP':>7} | {'mode':<5} | {'peak RSS MB':>11} | {'above idle':>10} | {'traced MB':>9} | {'s':>5}"
    )
    print(header)
    print("-" * len(header))
    for size_mb, runs in rows:
        for mode, run in runs.items():
            above = run["rss_mb"] - runs["idle"]["rss_mb"]
            parts = f"  ({run['parts']} parts)" if "parts" in run else ""
            print(
                f"{size_mb:>4} MB | {mode:<5} | {run['rss_mb']:>11.1f} | {above:>10.1f} | "
                f"{run['traced_mb']:>9.1f} | {run['seconds']:>5.2f}{parts}"
            )
    ours = [runs["ours"]["rss_mb"] - runs["idle"]["rss_mb"] for _, runs in rows]
    growth = ours[-1] - ours[0]
    bound = 2 * PART_MB  # the part being filled, and the copy botocore sends
    ok = max(ours) <= LIMIT_MB and growth < bound
    verdict = "flat: bounded by the part size" if growth < bound else "GROWS with the file"
    print(
        f"ours: at most {max(ours):.1f} MB above the idle process (limit {LIMIT_MB}); {growth:+.1f} MB "
        f"from {SIZES_MB[0]} to {SIZES_MB[-1]} MB ({verdict}; limit two parts, {bound:.1f} MB)"
    )
    print()
    return ok


def child(mode: str, link: str, key: str) -> None:
    """One store in this fresh process; prints its figures as JSON."""
    import hashlib
    import tracemalloc

    _importable()
    import boto3
    import httpx

    from sevdesk_common import export_bucket
    from sevdesk_common.services.datev_steps import _download

    figures: dict[str, Any] = {}
    tracemalloc.start()
    started = time.perf_counter()
    if mode == "ours":
        stored = export_bucket.upload_stream(
            key, _download(link), retain_until=datetime(2037, 1, 1, tzinfo=UTC)
        )
        figures.update(sha256=stored.sha256, parts=stored.parts, size=stored.size_bytes)
    elif mode == "naive":
        body = httpx.get(link, timeout=120).content
        boto3.client("s3").put_object(Bucket=os.environ["EXPORT_BUCKET"], Key=key, Body=body)
        figures.update(sha256=hashlib.sha256(body).hexdigest(), size=len(body))
    figures["seconds"] = time.perf_counter() - started
    figures["traced_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    figures["rss_mb"] = _peak_rss_mb()
    print(json.dumps(figures))


def _peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent the child was forked from, which here holds moto's copy of the files."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e3  # kB
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


# ---------------------------------------------------------------- datev-lambda-seconds


def lambda_seconds() -> bool:
    """Section datev-lambda-seconds: two exports (cold, then warm) through the local stack."""
    _importable()
    import httpx

    from devtools.local.stack import LocalStack, Ports
    from devtools.local.template import LocalTemplate

    poll_default = int(LocalTemplate.load(REPO_ROOT / "template.yaml").parameter("DatevExportPollSeconds"))
    with (
        open(os.devnull, "wb") as quiet,
        LocalStack.start(
            REPO_ROOT / "template.yaml", Ports.ephemeral(), timers=False, log_output=quiet
        ) as stack,
    ):
        calls = _timed(stack)
        admin = {"Authorization": f"Bearer {stack.admin_token}"}
        api = httpx.Client(base_url=stack.api_url, timeout=60)
        control = httpx.Client(base_url=stack.emulator_server.control_url, timeout=60)
        control.post("/seed", json={"count": 200, "first_day": "2026-01-02", "per_day": 10})
        config = api.get("/api/sevdesk/config", headers=admin).json()
        api.put(
            "/api/sevdesk/config",
            headers=admin,
            json={"version": config["version"], "datevFiscalYearStartMonth": 1},
        )
        runs = []
        for label, period in (("cold", ("2026-01-01", "2026-01-31")), ("warm", ("2026-02-01", "2026-02-28"))):
            calls.clear()
            started = api.post(
                "/api/sevdesk/export/datev",
                headers=admin,
                json={"startDate": period[0], "endDate": period[1]},
            )
            job_id = started.json()["jobId"]
            status = _poll(api, admin, job_id)
            if status["status"] != "succeeded":
                raise RuntimeError(f"the {label} export ended {status['status']}: {status.get('failure')}")
            runs.append((label, dict(calls), status["file"]["sizeBytes"]))
    print(
        "## DATEV export: Lambda-seconds per export (local stack: the ASL in moto, steps in worker processes)"
    )
    print(
        "Steps only (the start route and the UI's status polls come on top); cold: each function's first run."
    )
    print(f"ZIP: {runs[0][2] / 1e6:.1f} MB (200 invoices with their PDFs)")
    header = f"{'run':<5} | {'invocations':>11} | {'Lambda-s':>8} | by step"
    print(header)
    print("-" * len(header))
    for label, by_function, _ in runs:
        count = sum(len(v) for v in by_function.values())
        total = sum(sum(v) for v in by_function.values())
        steps = ", ".join(
            f"{name.removeprefix('DatevExport').removesuffix('Function')} {len(v)}x {sum(v):.2f}s"
            for name, v in by_function.items()
        )
        print(f"{label:<5} | {count:>11} | {total:>8.2f} | {steps}")
    warm = runs[-1][1]
    polls = len(warm.get("DatevExportProgressFunction", []))
    work = sum(sum(v) for v in warm.values())
    print(
        f"a single polling Lambda would be billed for its {polls} waits too: {work:.2f} + {polls} x "
        f"{poll_default} s (DatevExportPollSeconds) = {work + polls * poll_default:.1f} Lambda-s per export "
        "(modelled from the warm run, not slept)"
    )
    print()
    return True


def _timed(stack: Any) -> dict[str, list[float]]:
    """Seconds per invocation of each step function, as the Lambda middleware calls them."""
    calls: dict[str, list[float]] = defaultdict(list)
    registry = stack.functions
    original: Callable[..., Any] = registry.invoke

    def invoke(function: str, event: Any) -> Any:
        name = registry.spec(function).logical_id
        started = time.perf_counter()
        try:
            return original(function, event)
        finally:
            if name in STEP_FUNCTIONS:
                calls[name].append(time.perf_counter() - started)

    registry.invoke = invoke
    return calls


def _poll(api: Any, admin: dict[str, str], job_id: str) -> dict[str, Any]:
    give_up = time.monotonic() + 300
    while True:
        answer = api.get(f"/api/sevdesk/export/datev/{job_id}/status", headers=admin)
        if answer.status_code == 429:
            time.sleep(int(answer.headers["retry-after"]))
            continue
        status: dict[str, Any] = answer.json()
        if status["status"] in ("succeeded", "failed") or time.monotonic() > give_up:
            return status
        time.sleep(1)


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "child":
    child(*sys.argv[2:])
