"""The grants check: recorded calls against small templates, the way `make test` runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devtools.grants.__main__ import main
from devtools.grants.check import Report, check, render
from devtools.grants.policies import Template
from devtools.grants.recorder import needs

ENV = {"TABLE_NAME": "sevdesk-test-state", "SEVDESK_SECRET_ID": "sevdesk-test-token", "BUCKET": "exports-1"}

HEAD = """
Globals:
  Function:
    Environment:
      Variables:
        TABLE_NAME: !Ref StateTable
        SEVDESK_SECRET_ID: !Ref SevdeskTokenSecret
Resources:
  StateTable: {Type: AWS::DynamoDB::Table}
  SevdeskTokenSecret: {Type: AWS::SecretsManager::Secret}
  ExportBucket: {Type: AWS::S3::Bucket}
"""

# The reported case: every route's limiter writes with PutItem, ConfigGet may only Get/Update.
CONFIG_GET = """
  ConfigGetFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:UpdateItem]
              Resource: !GetAtt StateTable.Arn
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref SevdeskTokenSecret
"""


def template(resources: str) -> Template:
    return Template(yaml_parse(HEAD + resources))


def call(
    function: str, service: str, operation: str, env: dict[str, str] | None = None, **params: Any
) -> dict:
    return {
        "function": function,
        "service": service,
        "operation": operation,
        "needs": needs(service, operation, params, env or ENV),
    }


def config_get_calls() -> list[dict[str, Any]]:
    return [
        call("ConfigGetFunction", "dynamodb", "GetItem", TableName="sevdesk-test-state"),
        call("ConfigGetFunction", "dynamodb", "PutItem", TableName="sevdesk-test-state"),
        call("ConfigGetFunction", "secretsmanager", "GetSecretValue", SecretId="sevdesk-test-token"),
    ]


def only(report: Report, logical_id: str) -> Any:
    (result,) = [r for r in report.functions if r.logical_id == logical_id]
    return result


def test_the_reported_case_fails_on_the_limiter_write_and_names_the_unused_grant() -> None:
    report = check(template(CONFIG_GET), config_get_calls())

    result = only(report, "ConfigGetFunction")
    assert report.failed
    assert list(result.missing) == [("dynamodb:PutItem", "StateTable")]
    assert [(g.action, g.resource) for g in result.unused] == [
        ("dynamodb:UpdateItem", "!GetAtt StateTable.Arn")
    ]
    text = render(report, template_name="template.yaml", calls_dir=".grants")
    assert "ConfigGetFunction: FAIL" in text
    assert "MISSING dynamodb:PutItem on StateTable (called by PutItem; no grant allows it)" in text
    assert "UNUSED  dynamodb:UpdateItem on !GetAtt StateTable.Arn" in text


def test_exactly_the_called_grants_pass() -> None:
    fixed = CONFIG_GET.replace(
        "[dynamodb:GetItem, dynamodb:UpdateItem]", "[dynamodb:GetItem, dynamodb:PutItem]"
    )

    report = check(template(fixed), config_get_calls())

    assert not report.failed
    assert render(report, template_name="t", calls_dir="d").endswith(
        "every grant of 1 functions is used and suffices"
    )


def test_a_function_without_recorded_calls_fails() -> None:
    report = check(template(CONFIG_GET), [])

    assert only(report, "ConfigGetFunction").errors == ["not exercised by the tests: no AWS call recorded"]


def test_a_query_on_an_index_needs_the_index_grant() -> None:
    query = call("EventsFunction", "dynamodb", "Query", TableName="sevdesk-test-state", IndexName="gsi1")
    table_only = """
  EventsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - {Effect: Allow, Action: dynamodb:Query, Resource: !GetAtt StateTable.Arn}
"""
    indexes = table_only.replace("!GetAtt StateTable.Arn", "!Sub '${StateTable.Arn}/index/*'")

    assert list(only(check(template(table_only), [query]), "EventsFunction").missing) == [
        ("dynamodb:Query", "StateTable/index/gsi1")
    ]
    assert not check(template(indexes), [query]).failed


def test_managed_policies_are_followed_and_unused_parts_are_reported_per_function() -> None:
    resources = """
  TableItems:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: [dynamodb:GetItem, dynamodb:PutItem], Resource: !GetAtt StateTable.Arn}
  ReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [!Ref TableItems]
  WriterFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [!Ref TableItems]
"""
    calls = [
        call("ReaderFunction", "dynamodb", "GetItem", TableName="sevdesk-test-state"),
        call("WriterFunction", "dynamodb", "GetItem", TableName="sevdesk-test-state"),
        call("WriterFunction", "dynamodb", "PutItem", TableName="sevdesk-test-state"),
    ]

    report = check(template(resources), calls)

    assert [(g.origin, g.action) for g in only(report, "ReaderFunction").unused] == [
        ("TableItems Statement[0]", "dynamodb:PutItem")
    ]
    assert not only(report, "WriterFunction").failed


def test_sam_policy_templates_are_expanded() -> None:
    resources = """
  ReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBReadPolicy: {TableName: !Ref StateTable}
"""
    report = check(
        template(resources), [call("ReaderFunction", "dynamodb", "GetItem", TableName="sevdesk-test-state")]
    )

    result = only(report, "ReaderFunction")
    assert not result.missing
    # The template grants five actions on the table and on its indexes; one of ten is used.
    unused = {(g.action, (g.pattern or "").endswith("/index/*")) for g in result.unused}
    assert len(unused) == 9
    assert ("dynamodb:GetItem", False) not in unused
    assert {("dynamodb:GetItem", True), ("dynamodb:Scan", False), ("dynamodb:BatchGetItem", False)} <= unused


def test_wildcards_match_like_iam_and_a_deny_wins() -> None:
    resources = """
  ExportFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {BUCKET: !Ref ExportBucket}}
      Policies:
        - Statement:
            - {Effect: Allow, Action: "s3:Put*", Resource: !Sub "${ExportBucket.Arn}/exports/*"}
            - Effect: Deny
              Action: s3:PutObject
              Resource: !Sub "arn:${AWS::Partition}:s3:::${ExportBucket}/exports/secret-*"
"""
    allowed = call("ExportFunction", "s3", "PutObject", Bucket="exports-1", Key="exports/2026/a.csv")
    elsewhere = call("ExportFunction", "s3", "PutObject", Bucket="exports-1", Key="other/b.csv")
    denied = call("ExportFunction", "s3", "PutObject", Bucket="exports-1", Key="exports/secret-1.csv")

    result = only(check(template(resources), [allowed, elsewhere, denied]), "ExportFunction")

    assert result.calls[("s3:PutObject", "ExportBucket/*", True)] == 1
    assert result.calls[("s3:PutObject", "ExportBucket/*", False)] == 2
    assert not result.unused


def test_a_resource_the_function_environment_does_not_name_is_an_error() -> None:
    stray = call(
        "ConfigGetFunction", "dynamodb", "GetItem", env={"OTHER_TABLE": "elsewhere"}, TableName="elsewhere"
    )

    result = only(check(template(CONFIG_GET), [*config_get_calls(), stray]), "ConfigGetFunction")

    assert any(
        "table 'elsewhere' not named by any of the function's environment variables" in e
        for e in result.errors
    )


def test_function_level_variables_name_resources_too() -> None:
    resources = """
  HandOverFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {WORKER: !Ref WorkerFunction}}
      Policies:
        - Statement:
            - {Effect: Allow, Action: lambda:InvokeFunction, Resource: !GetAtt WorkerFunction.Arn}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies: []
"""
    invoke = call(
        "HandOverFunction",
        "lambda",
        "Invoke",
        env={"WORKER": "stack-Worker-1"},
        FunctionName="stack-Worker-1",
    )
    work = call("WorkerFunction", "sts", "GetCallerIdentity")

    report = check(template(resources), [invoke, work])

    assert not only(report, "HandOverFunction").failed
    assert list(only(report, "WorkerFunction").missing) == [("sts:GetCallerIdentity", "*")]


def test_calls_of_functions_another_template_defines_are_ignored() -> None:
    report = check(
        template(CONFIG_GET), [*config_get_calls(), call("PollFunction", "sts", "GetCallerIdentity")]
    )

    assert report.foreign == {"PollFunction": 1}
    assert "ignored: calls of functions the template does not define: PollFunction (1)" in render(
        report, template_name="t", calls_dir="d"
    )


def test_aws_managed_policies_cannot_be_verified() -> None:
    resources = CONFIG_GET.replace(
        "      Policies:\n", "      Policies:\n        - AmazonDynamoDBFullAccess\n", 1
    )

    result = only(check(template(resources), config_get_calls()), "ConfigGetFunction")

    assert any("AmazonDynamoDBFullAccess" in e for e in result.errors)


@pytest.mark.parametrize(
    ("policy_actions", "exit_code"), [("dynamodb:UpdateItem", 1), ("dynamodb:PutItem", 0)]
)
def test_the_command_exits_non_zero_on_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy_actions: str, exit_code: int
) -> None:
    (tmp_path / "template.yaml").write_text(HEAD + CONFIG_GET.replace("dynamodb:UpdateItem", policy_actions))
    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "calls-1.jsonl").write_text("".join(json.dumps(c) + "\n" for c in config_get_calls()))

    assert main(["check", "--calls", str(calls), "--template", str(tmp_path / "template.yaml")]) == exit_code
    assert "ConfigGetFunction" in capsys.readouterr().out
    assert (
        main(["check", "--calls", str(tmp_path / "none"), "--template", str(tmp_path / "template.yaml")]) == 2
    )
