"""What template.yaml grants each function, in a canonical form the recorded calls can meet.

Every template resource gets a canonical physical name (its logical id) and ARN. Grants are
evaluated in that world (`!GetAtt StateTable.Arn` -> arn:aws:dynamodb:...:table/StateTable), and
so are recorded calls once their resource is traced back to a logical id through the function's
environment variables. Physical names of tests or the local stack never matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor
from samtranslator.yaml_helper import yaml_parse

REGION = "eu-central-1"
ACCOUNT = "123456789012"
_PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}
_STATE_MACHINES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_FUNCTIONS = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# Canonical ARN of each resource type ({name} = logical id).
_ARNS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "AWS::SSM::Parameter": "arn:aws:ssm:{region}:{account}:parameter/{name}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{account}:policy/{name}",
    **dict.fromkeys(_FUNCTIONS, "arn:aws:lambda:{region}:{account}:function:{name}"),
    **dict.fromkeys(_STATE_MACHINES, "arn:aws:states:{region}:{account}:stateMachine:{name}"),
}
# Types whose Ref is the ARN (the others' Ref is the name, or for a queue its URL).
_REF_IS_ARN = {"AWS::SecretsManager::Secret", "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy", *_STATE_MACHINES}
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Unresolvable(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    """One action pattern on one resource pattern of an Allow or Deny statement."""

    origin: str  # where the statement sits, for the report
    effect: str
    action: str
    resource: str  # the template's expression, shown in reports
    pattern: str | None  # canonical ARN pattern; None when it cannot be evaluated


@dataclass
class FunctionPolicy:
    logical_id: str
    environment: dict[str, Any]  # variable -> template expression (Globals merged)
    grants: list[Grant] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # grants the checker cannot verify


class Template:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.resources: dict[str, dict[str, Any]] = raw.get("Resources", {})
        self.parameters: dict[str, dict[str, Any]] = raw.get("Parameters", {})
        self._policy_templates: PolicyTemplatesProcessor | None = None

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(yaml_parse(Path(path).read_text()))

    # ---------------------------------------------------------------- canonical names
    def type_of(self, logical_id: str) -> str:
        return str(self.resources[logical_id].get("Type", ""))

    def arn(self, logical_id: str) -> str:
        template = _ARNS.get(self.type_of(logical_id))
        if template is None:
            raise Unresolvable(f"no ARN known for {logical_id} ({self.type_of(logical_id)})")
        return template.format(region=REGION, account=ACCOUNT, name=logical_id)

    def ref(self, name: str) -> str:
        if name in _PSEUDO:
            return _PSEUDO[name]
        if name in self.parameters:
            return str(self.parameters[name].get("Default", name))
        if name not in self.resources:
            raise Unresolvable(f"!Ref {name}: no such resource or parameter")
        kind = self.type_of(name)
        if kind in _REF_IS_ARN:
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return name

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise Unresolvable(f"!GetAtt {logical_id}.{attribute}: no such resource")
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "TopicName", "QueueName"):
            return logical_id
        raise Unresolvable(f"!GetAtt {logical_id}.{attribute} is not supported")

    def resolve(self, value: Any) -> str:
        """An intrinsic expression as a canonical string."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(self.resolve(item) for item in items)
        raise Unresolvable(f"cannot evaluate {value!r}")

    def _sub(self, text: str, variables: dict[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _SUB_VARIABLE.sub(one, text)

    def logical_ids_in(self, value: Any) -> set[str]:
        """Resources an expression refers to (what an environment variable names)."""
        found: set[str] = set()
        if isinstance(value, dict):
            for key, argument in value.items():
                if key == "Ref" and argument in self.resources:
                    found.add(argument)
                elif key == "Fn::GetAtt":
                    logical_id = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                    found.add(logical_id)
                elif key == "Fn::Sub":
                    text = argument if isinstance(argument, str) else argument[0]
                    for name in _SUB_VARIABLE.findall(text):
                        if name.split(".", 1)[0] in self.resources:
                            found.add(name.split(".", 1)[0])
                    if not isinstance(argument, str):
                        found |= self.logical_ids_in(argument[1])
                else:
                    found |= self.logical_ids_in(argument)
        elif isinstance(value, list):
            for item in value:
                found |= self.logical_ids_in(item)
        return found

    # ---------------------------------------------------------------- functions and their grants
    def functions(self) -> dict[str, FunctionPolicy]:
        globals_ = self.raw.get("Globals", {}).get("Function", {})
        out = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            props = resource.get("Properties", {})
            environment = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **props.get("Environment", {}).get("Variables", {}),
            }
            policy = FunctionPolicy(logical_id, environment)
            policies = _as_list(globals_.get("Policies", [])) + _as_list(props.get("Policies", []))
            for index, entry in enumerate(policies):
                self._collect(policy, entry, f"Policies[{index}]")
            if "Role" in props:
                policy.problems.append("uses an explicit Role: its policies are not read by this check")
            out[logical_id] = policy
        return out

    def _collect(self, policy: FunctionPolicy, entry: Any, origin: str) -> None:
        if isinstance(entry, dict) and "Statement" in entry:
            self._statements(policy, entry, origin)
        elif isinstance(entry, dict) and set(entry) == {"Ref"} and entry["Ref"] in self.resources:
            name = entry["Ref"]
            if self.type_of(name) != "AWS::IAM::ManagedPolicy":
                policy.problems.append(f"{origin}: !Ref {name} is no AWS::IAM::ManagedPolicy")
                return
            document = self.resources[name].get("Properties", {}).get("PolicyDocument", {})
            self._statements(policy, document, name)
        elif isinstance(entry, dict) and len(entry) == 1 and self._templates().has(next(iter(entry))):
            name, parameters = next(iter(entry.items()))
            self._statements(policy, self._templates().convert(name, parameters or {}), f"{origin} {name}")
        else:
            policy.problems.append(f"{origin}: {entry!r} cannot be read (AWS managed policy?)")

    def _statements(self, policy: FunctionPolicy, document: dict[str, Any], origin: str) -> None:
        for index, statement in enumerate(_as_list(document.get("Statement", []))):
            where = f"{origin} Statement[{index}]"
            if "NotAction" in statement or "NotResource" in statement:
                policy.problems.append(f"{where}: NotAction/NotResource cannot be checked")
                continue
            for action in _as_list(statement.get("Action", [])):
                for resource in _as_list(statement.get("Resource", [])):
                    try:
                        pattern: str | None = self.resolve(resource)
                    except Unresolvable as error:
                        policy.problems.append(f"{where}: {error}")
                        pattern = None
                    effect = str(statement.get("Effect", "Allow"))
                    policy.grants.append(Grant(where, effect, str(action), show(resource), pattern))

    def _templates(self) -> PolicyTemplatesProcessor:
        if self._policy_templates is None:
            self._policy_templates = PolicyTemplatesProcessor(
                PolicyTemplatesProcessor.get_default_policy_templates_json()
            )
        return self._policy_templates


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def show(value: Any) -> str:
    """An expression the way template.yaml writes it."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"!Ref {argument}"
        if key == "Fn::GetAtt":
            return f"!GetAtt {argument if isinstance(argument, str) else '.'.join(argument)}"
        if key == "Fn::Sub":
            return f"!Sub '{argument if isinstance(argument, str) else argument[0]}'"
    return str(value)
