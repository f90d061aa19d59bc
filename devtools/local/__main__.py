"""`python -m devtools.local up | replay | put-event | token`: the docker-free local stack and its helpers."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from devtools.local.events import put_event
from devtools.local.replay import replay_in_process, replay_via_stack
from devtools.local.stack import LocalStack, Ports, _keys
from devtools.local.template import LocalTemplate

log = logging.getLogger("devtools.local")
_ROLE = re.compile(r"make_api\(\s*role=[\"'](\w+)[\"']")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devtools.local", description=__doc__)
    p.add_argument("--template", type=Path, default=Path("template.yaml"))
    p.add_argument("--state-dir", type=Path, default=Path(".local"), help="stack.json, tokens.json, key")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack on localhost until Ctrl-C")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port-base", type=int, default=os.environ.get("LOCAL_PORT_BASE"),
                    help="moto = base, emulator = base+1, HTTP API = base+2; 0 = free ports")  # fmt: skip
    up.add_argument("--moto-port", type=int, default=_env_int("LOCAL_MOTO_PORT", 5055))
    up.add_argument("--emulator-port", type=int, default=_env_int("LOCAL_EMULATOR_PORT", 5056))
    up.add_argument("--api-port", type=int, default=_env_int("LOCAL_API_PORT", 3000))
    up.add_argument("--schedule-scale", type=float, default=float(os.environ.get("LOCAL_SCHEDULE_SCALE", 1)),
                    help="run schedules N times faster (rate(10 minutes) with 60 -> every 10 s)")  # fmt: skip
    up.add_argument("--wait-seconds", type=int, default=_env_int("LOCAL_WAIT_SECONDS", 1),
                    help="value for state-machine wait substitutions (DefinitionSubstitutions)")  # fmt: skip

    rp = sub.add_parser("replay", help="invoke a function with an events/ fixture")
    rp.add_argument("function", help="snake name (functions/<dir>), logical id or function name")
    rp.add_argument("--event", type=Path, help="default: events/<function>.json")
    rp.add_argument("--in-process", action="store_true", help="no running stack needed")

    pe = sub.add_parser(
        "put-event", help="put an EventBridge event on the running stack (delivered like EventBridge)"
    )
    pe.add_argument("event", type=Path, help="an EventBridge event, e.g. events/purchase_completed.json")
    pe.add_argument("--bus", help="default: the bus of the template's rule that matches the event")

    tk = sub.add_parser("token", help="mint a dev JWT signed by the local key")
    tk.add_argument("--sub", default="dev-user")
    tk.add_argument("--roles", default="staff", help="comma separated")
    tk.add_argument("--user-type", default=None, help="default: the internal value")
    tk.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")
    return p


def up(args: argparse.Namespace) -> int:
    if args.port_base is not None:
        ports = Ports.from_base(int(args.port_base)) if int(args.port_base) else Ports.ephemeral()
    else:
        ports = Ports(args.moto_port, args.emulator_port, args.api_port)
    started = time.monotonic()
    stack = LocalStack.start(
        args.template, ports, args.host, args.state_dir, args.schedule_scale, args.wait_seconds, preload=True
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(banner(stack, time.monotonic() - started), flush=True)
    while not stop.wait(0.2):
        pass
    print("stopping ...", flush=True)
    stack.stop()
    (args.state_dir / "stack.json").unlink(missing_ok=True)  # replay must not aim at a dead stack
    # Everything is stopped and nothing is left to write; the interpreter's own teardown of moto's
    # and the emulator's state took over two seconds more (measured), so leave now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def banner(stack: LocalStack, seconds: float) -> str:
    tpl = stack.template
    lines = [f"sevDesk integration local stack up in {seconds:.1f} s  (Ctrl-C stops)", ""]
    stage = tpl.stage()
    also = f"   (stage {stage}: also under /{stage}/...)" if stage != "$default" else ""
    lines.append(f"HTTP API      {stack.api_url}{also}")
    for r in tpl.routes():
        spec = stack.functions.specs[r.function]
        lines.append(f"  {r.method:<6} {r.path:<48} {spec.snake:<20} {_who(spec.code_dir, r.authorizer)}")
    lines.append(f"API docs      {stack.api_url}/docs   (Swagger UI; Try it out as dev-admin)")
    lines.append(f"moto          {stack.moto_url}   (AWS_ENDPOINT_URL; region eu-central-1)")
    for kind, names in stack.resources.items():
        if names:
            lines.append(f"  {kind:<14} {', '.join(names)}")
    for s in tpl.schedules():
        lines.append(f"  schedule       {s.expression} -> {stack.functions.specs[s.function].snake}")
    for rule in tpl.event_rules():
        what = ", ".join(
            f"{k} {'|'.join(map(str, v))}" for k, v in rule.pattern.items() if isinstance(v, list)
        )
        lines.append(f"  event rule     {rule.bus}: {what} -> {stack.functions.specs[rule.function].snake}")
    if stack.real_sevdesk:
        lines += ["", "!" * 72, f"!!  REAL sevDesk: {stack.emulator_url}", "!!  (SEVDESK_API_TOKEN and "
                  "SEVDESK_BASE_URL are set; writes are real)", "!" * 72, ""]  # fmt: skip
    elif stack.emulator_url:
        lines.append(f"sevDesk       {stack.emulator_url}   (emulator; control: /__emulator__/)")
    else:
        lines.append("sevDesk       (emulator not available; sevDesk calls will fail)")
    lines.append(f"  tokenConfigured: true ({stack.token_source})")
    lines += ["", "dev JWTs (12 h; also in tokens.json of the state dir):"]
    tokens = stack.dev_tokens or {"admin": stack.admin_token, "staff": stack.staff_token}
    lines.append(f"  admin (dev-admin, admin+staff): {tokens['admin']}")
    lines.append(f"  staff (dev-staff, staff):       {tokens['staff']}")
    lines.append(f'  curl -H "Authorization: Bearer $ADMIN" {stack.api_url}/api/sevdesk/config')
    return "\n".join(lines)


def _who(code_dir: Path, authorizer: str | None) -> str:
    """The role the handler asks make_api() for, as far as its source tells."""
    if authorizer is None:
        return "no JWT"
    app = code_dir / "app.py"
    found = _ROLE.search(app.read_text()) if app.exists() else None
    return found[1] if found else "?"


def token(args: argparse.Namespace) -> int:
    key_file = args.state_dir / "jwt-key.pem"
    if not key_file.exists():
        # A new key would sign tokens that no running stack accepts.
        print(
            f"no stack key in {args.state_dir}: start the stack with this state dir first "
            f"(python -m devtools.local --state-dir {args.state_dir} up), or pass the state dir "
            "the stack uses, before the subcommand: python -m devtools.local --state-dir DIR token",
            file=sys.stderr,
        )
        return 2
    tpl = LocalTemplate.load(args.template)
    keys = _keys(tpl, args.state_dir)
    roles = [r for r in args.roles.split(",") if r]
    print(keys.mint(args.sub, roles, args.user_type, ttl=args.ttl))
    return 0


def replay(args: argparse.Namespace) -> int:
    event = args.event or Path("events") / f"{args.function}.json"
    if args.in_process:
        return replay_in_process(args.template, args.function, event)
    return replay_via_stack(args.state_dir / "stack.json", args.function, event)


def put_events(args: argparse.Namespace) -> int:
    return put_event(args.state_dir / "stack.json", args.template, args.event, args.bus)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "httpx", "botocore"):  # per-request lines drown the rest
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    commands = {"up": up, "replay": replay, "token": token, "put-event": put_events}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
