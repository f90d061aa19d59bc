"""Create the template's resources in moto (the template is the only definition)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def load_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def create_state_table(table_name: str) -> Any:
    """The template's state table (keys, indexes) in moto, as a boto3 Table resource."""
    (table,) = resources_of_type(load_template(), "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    return boto3.resource("dynamodb", region_name="eu-central-1").create_table(
        TableName=table_name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
    )


def create_resources(*, table_name: str, secret_id: str, bucket: str, queue: str | None = None) -> None:
    template = load_template()
    create_state_table(table_name)
    (secret,) = resources_of_type(template, "AWS::SecretsManager::Secret").values()
    boto3.client("secretsmanager").create_secret(
        Name=secret_id, SecretString=secret["Properties"]["SecretString"]
    )
    (bucket_resource,) = resources_of_type(template, "AWS::S3::Bucket").values()
    props = bucket_resource["Properties"]
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")),
    )
    if props.get("ObjectLockConfiguration"):  # moto enforces the retention like S3
        s3.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration=_defaults(props["ObjectLockConfiguration"], template)
        )
    json.loads(secret["Properties"]["SecretString"])  # the template's placeholder must be valid JSON
    if queue and resources_of_type(template, "AWS::SQS::Queue"):  # the dead-letter queue
        boto3.client("sqs").create_queue(QueueName=queue)


def _defaults(value: Any, template: dict[str, Any]) -> Any:
    """`value` with each `!Ref <parameter>` replaced by the parameter's default."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
            return template["Parameters"][value["Ref"]]["Default"]
        return {k: _defaults(v, template) for k, v in value.items()}
    if isinstance(value, list):
        return [_defaults(v, template) for v in value]
    return value
