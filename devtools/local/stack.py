"""The whole local stack in one process: moto (+ Lambda dispatch), sevDesk emulator, HTTP API, timers."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from devtools.local.api_docs import ApiDocs
from devtools.local.gateway import Cors, Gateway, GatewayServer
from devtools.local.handlers import FunctionRegistry
from devtools.local.moto_server import MotoServer, seed
from devtools.local.template import REGION, LocalTemplate
from devtools.local.timers import Timer
from devtools.local.tokens import ClaimNames, DevKeys

log = logging.getLogger("devtools.local")

# The emulator accepts this token unless SEVDESK_API_TOKEN says otherwise: the stack works out of the box.
DEV_SEVDESK_TOKEN = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Ports:
    moto: int = 5055
    emulator: int = 5056
    api: int = 3000

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(base, base + 1, base + 2)

    @classmethod
    def ephemeral(cls) -> Ports:
        """Port 0 everywhere: the OS picks free ports (tests)."""
        return cls(0, 0, 0)


@dataclass
class LocalStack:
    template: LocalTemplate
    functions: FunctionRegistry
    keys: DevKeys
    moto: MotoServer
    gateway: GatewayServer
    emulator_server: Any | None
    emulator_url: str
    real_sevdesk: bool
    token_source: str
    resources: dict[str, Any]
    timers: list[Timer] = field(default_factory=list)
    state_dir: Path | None = None
    # The dev JWTs written to tokens.json; the banner prints these same ones (a token minted a
    # second later would differ from the file).
    dev_tokens: dict[str, str] = field(default_factory=dict)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def start(
        cls,
        template: Path = Path("template.yaml"),
        ports: Ports | None = None,
        host: str = "127.0.0.1",
        state_dir: Path | None = None,
        schedule_scale: float = 1.0,
        wait_seconds: int = 1,
        timers: bool = True,
        preload: bool = False,
        env: dict[str, str] | None = None,
        build_dir: Path | None = None,
        python: str | None = None,
        max_instances: int | None = None,
        log_output: IO[bytes] | None = None,
        async_retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> LocalStack:
        """Start everything. `env` adds variables for every function (on top of the template's);
        `build_dir` runs the artifacts `sam build` made there instead of the sources, with `python`
        (an interpreter whose environment holds only what Lambda provides); functions log to
        `log_output` (default: this process's stdout)."""
        ports = ports or Ports()
        real = bool(os.environ.get("SEVDESK_API_TOKEN") and os.environ.get("SEVDESK_BASE_URL"))
        api_token = os.environ.get("SEVDESK_API_TOKEN") or DEV_SEVDESK_TOKEN
        token_source = "SEVDESK_API_TOKEN" if os.environ.get("SEVDESK_API_TOKEN") else "emulator dev token"

        emulator_server, emulator_url = None, os.environ.get("SEVDESK_BASE_URL", "")
        if not real:
            emulator_server, emulator_url = _start_emulator(host, ports.emulator, api_token)
        overrides = {"SevdeskBaseUrl": emulator_url} if emulator_url else {}
        tpl = LocalTemplate.load(template, overrides=overrides, wait_seconds=wait_seconds)
        specs = tpl.functions()
        layer_dirs, code_dirs = tpl.layer_dirs(), None
        if build_dir is not None:
            layer_dirs = [build_dir / lid / "python" for lid in tpl.of_type("AWS::Serverless::LayerVersion")]
            code_dirs = {lid: build_dir / lid for lid in specs}
        registry = FunctionRegistry(
            specs,
            layer_dirs,
            python=python or sys.executable,
            code_dirs=code_dirs,
            max_instances=max_instances or int(os.environ.get("LOCAL_LAMBDA_CONCURRENCY", 6)),
            output=log_output,
            async_retry_delays=async_retry_delays,
        )

        moto = MotoServer(registry, host, ports.moto, rules=tpl.event_rules())
        saved = _apply_env(
            {
                **(env or {}),
                "AWS_ENDPOINT_URL": moto.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
                "MOTO_PORT": str(moto.server.server_port),
            }
        )
        moto.start()
        resources = seed(tpl, moto.url, api_token)

        keys = _keys(tpl, state_dir)
        cors = Cors.from_template(tpl.http_api().get("CorsConfiguration"))
        docs = ApiDocs(lambda: keys.mint("dev-admin", ["admin", "staff"]))
        gw = Gateway(tpl.routes(), registry.invoke, keys, cors, tpl.stage(), docs)
        gateway = GatewayServer(gw, host, ports.api).start()

        stack = cls(
            tpl, registry, keys, moto, gateway, emulator_server, emulator_url, real, token_source, resources,
            state_dir=state_dir, _saved_env=saved,
        )  # fmt: skip
        if timers:
            stack.timers = [Timer(s, registry.invoke_async, schedule_scale).start() for s in tpl.schedules()]
        if preload:
            registry.warm()
        if state_dir:
            stack.write_state(state_dir)
        return stack

    def stop(self) -> None:
        for timer in self.timers:
            timer.stop()
        self.functions.close()  # first: in-flight invocations end, so the servers stop at once
        self.gateway.stop()
        self.moto.stop()
        if self.emulator_server is not None:
            self.emulator_server.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- what callers use
    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def moto_url(self) -> str:
        return self.moto.url

    @property
    def admin_token(self) -> str:
        return self.keys.mint("dev-admin", ["admin", "staff"])

    @property
    def staff_token(self) -> str:
        return self.keys.mint("dev-staff", ["staff"])

    def mint_token(self, sub: str, roles: list[str], user_type: str | None = None, **kw: Any) -> str:
        return self.keys.mint(sub, roles, user_type, **kw)

    def invoke(self, function: str, event: Any) -> Any:
        """Run a handler directly (no HTTP), by logical id, physical name or snake name."""
        return self.functions.invoke(function, event)

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "api_url": self.api_url,
            "moto_url": self.moto_url,
            "emulator_url": self.emulator_url,
            "real_sevdesk": self.real_sevdesk,
            "region": REGION,
            "template": str(self.template.path),
            "resources": self.resources,
            "functions": {s.snake: s.name for s in self.functions.specs.values()},
            "environment": {s.snake: s.environment for s in self.functions.specs.values()},
        }

    def write_state(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "stack.json").write_text(json.dumps(self.describe(), indent=2) + "\n")
        self.dev_tokens = {"admin": self.admin_token, "staff": self.staff_token}
        tokens = {**self.dev_tokens, "api_url": self.api_url}
        (state_dir / "tokens.json").write_text(json.dumps(tokens, indent=2) + "\n")


def _apply_env(values: dict[str, str]) -> dict[str, str | None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    return saved


def _keys(tpl: LocalTemplate, state_dir: Path | None) -> DevKeys:
    jwt = tpl.jwt()
    params = tpl.raw.get("Parameters", {})
    names = ClaimNames(
        *(tpl.parameter(p) if p in params else d for p, d in
          (("RolesClaim", "roles"), ("UserTypeClaim", "user_type"), ("InternalUserType", "internal")))
    )  # fmt: skip
    issuer, audience = (jwt.issuer, jwt.audience) if jwt else ("https://local.invalid/", ["local"])
    return DevKeys.load_or_create(state_dir / "jwt-key.pem" if state_dir else None, issuer, audience, names)


def _start_emulator(host: str, port: int, token: str) -> tuple[Any | None, str]:
    try:
        from devtools.sevdesk_emulator import SevdeskEmulator
    except ImportError as exc:
        log.warning("sevDesk emulator not available (%s); handlers will not reach a sevDesk", exc)
        return None, ""
    server = SevdeskEmulator(token=token).serve(host=host, port=port)
    return server, str(server.base_url)
