"""Read template.yaml and resolve it into local names, environments, routes, schedules and machines.

The template stays the single source: nothing here repeats a table, route or variable.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

log = logging.getLogger("devtools.local")

REGION = "eu-central-1"
ACCOUNT = "123456789012"
PREFIX = "sevdesk-local"
# DefinitionSubstitutions whose names look like a wait length get the short local value.
_WAIT_KEY = re.compile(r"wait|interval|seconds|delay", re.IGNORECASE)
_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def _queue_name(arn: Any) -> str | None:
    """An SQS queue's name from its ARN (arn:aws:sqs:region:account:name)."""
    return str(arn).rsplit(":", 1)[-1] if isinstance(arn, str) and arn.startswith("arn:aws:sqs:") else None


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case, or ANY
    path: str  # template form, e.g. /api/sevdesk/invoices/{invoiceId}/publish
    function: str  # logical id
    authorizer: str | None  # None = no auth (Auth.Authorizer NONE or no default)
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class EventRule:
    """An EventBridgeRule (or CloudWatchEvent) event of a function: the bus it listens on and its
    pattern; EventBridge delivers a match to the function asynchronously."""

    function: str
    event_id: str
    bus: str  # physical name; "default" for the default bus
    pattern: dict[str, Any]


@dataclass(frozen=True)
class Schedule:
    function: str
    event_id: str
    expression: str  # rate(...) or cron(...)
    payload: dict[str, Any] | None  # the event's Input, if any
    kind: str  # Schedule or ScheduleV2


@dataclass
class FunctionSpec:
    logical_id: str
    name: str  # physical (= logical id, so ARNs stay readable)
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    # Asynchronous invocations (EventInvokeConfig): retries after an error, and where the event
    # goes when they are used up (an SQS queue name: the OnFailure destination, or the
    # function's DeadLetterQueue).
    async_retries: int = 2
    on_failure_queue: str | None = None
    dead_letter_queue: str | None = None

    @property
    def snake(self) -> str:
        return self.code_dir.name

    @property
    def arn(self) -> str:
        return function_arn(self.name)


@dataclass
class Jwt:
    issuer: str
    audience: list[str]


@dataclass
class LocalTemplate:
    path: Path
    raw: dict[str, Any]
    overrides: dict[str, str] = field(default_factory=dict)
    wait_seconds: int = 1

    @classmethod
    def load(
        cls, path: Path, overrides: dict[str, str] | None = None, wait_seconds: int = 1
    ) -> LocalTemplate:
        raw = yaml_parse(Path(path).read_text())
        return cls(Path(path).resolve(), raw, dict(overrides or {}), wait_seconds)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.raw.get("Resources", {})

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_}

    # ---------------------------------------------------------------- names and intrinsics
    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        spec = self.raw.get("Parameters", {}).get(name)
        if spec is None:
            raise KeyError(f"unknown parameter {name}")
        return str(spec.get("Default", ""))

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        type_ = resource["Type"]
        if type_ == "AWS::Serverless::Function":
            return logical_id
        if type_ == "AWS::S3::Bucket":  # bucket names: lower case only
            return f"{PREFIX}-{logical_id}".lower()
        explicit = {"AWS::Events::EventBus": "Name", "AWS::SQS::Queue": "QueueName"}.get(type_)
        if explicit and explicit in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"][explicit]))
        return f"{PREFIX}-{logical_id}"

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::StackName": PREFIX,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.raw.get("Parameters", {}) or name in self.overrides:
            return self.parameter(name)
        type_ = self.resources[name]["Type"]
        if type_ in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self.get_att(name, "Arn")
        if type_ == "AWS::SQS::Queue":  # moto finds a queue by the name at the URL's end, any host
            return queue_url(self.physical_name(name))
        return self.physical_name(name)

    def get_att(self, logical_id: str, attr: str) -> str:
        type_ = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        arns = {
            "AWS::Serverless::Function": function_arn(name),
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        }
        if attr == "Arn" and type_ in arns:
            return arns[type_]
        if attr in ("Name", "QueueName", "TopicName"):
            return name
        if attr == "QueueUrl" and type_ == "AWS::SQS::Queue":
            return queue_url(name)
        raise ValueError(f"!GetAtt {logical_id}.{attr} is not supported locally")

    def resolve(self, value: Any) -> Any:
        """Evaluate Ref / GetAtt / Sub / Join recursively."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical_id, attr)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self.sub(text, extra)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
        return {k: self.resolve(v) for k, v in value.items()}

    def sub(self, text: str, extra: dict[str, Any] | None = None) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if extra and name in extra:
                return str(extra[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _SUB_VAR.sub(one, text)

    # ---------------------------------------------------------------- functions
    def functions(self) -> dict[str, FunctionSpec]:
        glob = self.raw.get("Globals", {}).get("Function", {})
        out: dict[str, FunctionSpec] = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = {**glob, **res.get("Properties", {})}
            env = {
                **glob.get("Environment", {}).get("Variables", {}),
                **res.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            invoke_config = self.resolve(props.get("EventInvokeConfig") or {})
            on_failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
            dead_letter = self.resolve(props.get("DeadLetterQueue") or {})
            out[logical_id] = FunctionSpec(
                logical_id=logical_id,
                name=self.physical_name(logical_id),
                code_dir=(self.root / str(props.get("CodeUri", "."))).resolve(),
                handler=str(props.get("Handler", "app.lambda_handler")),
                timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
                environment={k: str(v) for k, v in self.resolve(env).items()},
                async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
                on_failure_queue=_queue_name(on_failure.get("Destination"))
                if on_failure.get("Type") == "SQS"
                else None,
                dead_letter_queue=_queue_name(dead_letter.get("TargetArn"))
                if dead_letter.get("Type") == "SQS"
                else None,
            )
        return out

    def layer_dirs(self) -> list[Path]:
        layers = self.of_type("AWS::Serverless::LayerVersion")
        return [(self.root / str(r["Properties"]["ContentUri"])).resolve() for r in layers.values()]

    def events(self, kinds: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
        found = []
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            for event_id, ev in (res.get("Properties", {}).get("Events") or {}).items():
                if ev.get("Type") in kinds:
                    found.append((logical_id, event_id, ev))
        return found

    # ---------------------------------------------------------------- HTTP API
    def http_api(self) -> dict[str, Any]:
        apis = self.of_type("AWS::Serverless::HttpApi")
        return self.resolve(next(iter(apis.values()))["Properties"]) if apis else {}

    def jwt(self) -> Jwt | None:
        auth = self.http_api().get("Auth", {})
        for authorizer in auth.get("Authorizers", {}).values():
            conf = authorizer.get("JwtConfiguration")
            if conf:
                aud = conf.get("audience", [])
                return Jwt(conf["issuer"], aud if isinstance(aud, list) else [aud])
        return None

    def stage(self) -> str:
        return str(self.http_api().get("StageName", "$default"))

    def routes(self) -> list[ApiRoute]:
        default = self.http_api().get("Auth", {}).get("DefaultAuthorizer")
        routes = []
        for logical_id, _, ev in self.events(("HttpApi",)):
            props = self.resolve(ev.get("Properties", {}))
            auth = props.get("Auth", {})
            authorizer = auth.get("Authorizer", default)
            routes.append(
                ApiRoute(
                    method=str(props.get("Method", "ANY")).upper(),
                    path=str(props.get("Path", "/{proxy+}")),
                    function=logical_id,
                    authorizer=None if authorizer in (None, "NONE") else authorizer,
                    scopes=tuple(auth.get("AuthorizationScopes", [])),
                )
            )
        return routes

    def event_rules(self) -> list[EventRule]:
        rules = []
        for logical_id, event_id, ev in self.events(("EventBridgeRule", "CloudWatchEvent")):
            props = self.resolve(ev.get("Properties", {}))
            if props.get("State") == "DISABLED" or props.get("Enabled") is False:
                continue
            bus = str(props.get("EventBusName") or "default")
            rules.append(EventRule(logical_id, event_id, bus, props.get("Pattern") or {}))
        return rules

    def schedules(self) -> list[Schedule]:
        out = []
        for logical_id, event_id, ev in self.events(("Schedule", "ScheduleV2")):
            props = self.resolve(ev.get("Properties", {}))
            if props.get("Enabled") is False or props.get("State") == "DISABLED":
                continue
            raw_input = props.get("Input")
            out.append(
                Schedule(
                    function=logical_id,
                    event_id=event_id,
                    expression=str(props["Schedule"] if "Schedule" in props else props["ScheduleExpression"]),
                    payload=json.loads(raw_input) if raw_input else None,
                    kind=ev["Type"],
                )
            )
        return out

    # ---------------------------------------------------------------- state machines
    def state_machines(self) -> dict[str, str]:
        """Physical name -> definition JSON with every substitution applied (waits shortened)."""
        out = {}
        for logical_id, res in self.of_type("AWS::Serverless::StateMachine").items():
            props = res.get("Properties", {})
            if "DefinitionUri" in props:
                text = (self.root / str(props["DefinitionUri"])).read_text()
            else:
                text = json.dumps(props["Definition"])
            subs = {}
            for key, value in (props.get("DefinitionSubstitutions") or {}).items():
                resolved = self.resolve(value)
                if _WAIT_KEY.search(key) and str(resolved).isdigit():
                    resolved = self.wait_seconds
                subs[key] = resolved
            out[self.physical_name(logical_id)] = self.sub_definition(text, subs)
        return out

    @staticmethod
    def sub_definition(text: str, subs: dict[str, Any]) -> str:
        # Like SAM: ${Name} is replaced in the raw text; unknown names stay as written.
        return _SUB_VAR.sub(lambda m: str(subs.get(m.group(1), m.group(0))), text)
