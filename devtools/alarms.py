"""`python -m devtools.alarms [--check]`: the alarms every resource of a kind gets, written into
template.yaml between two marker lines, the same way for each one:

- every function: Errors and Throttles (AWS/Lambda);
- every SQS queue whose logical id ends in DeadLetterQueue: any message in it;
- every state machine: executions that failed, timed out or were aborted (AWS/States).

Each alarm notifies AlarmTopic. Adding a function, a dead-letter queue or a state machine to the
template and running `make alarms` attaches its alarms; `tests/template` fails while the block is
stale. Alarms on the integration's own metrics (sevDesk failures, sync lag, ...) are written by
hand above the block.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path("template.yaml")
BEGIN = (
    "  # ---------------------------------------------------------------- ALARMS PER RESOURCE (make alarms)"
)
END = "  # ---------------------------------------------------------------- END OF ALARMS PER RESOURCE"
FUNCTIONS = ("AWS::Serverless::Function",)
STATE_MACHINES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
DEAD_LETTER_SUFFIX = "DeadLetterQueue"


def _stem(logical_id: str, suffix: str) -> str:
    return logical_id.removesuffix(suffix) or logical_id


def _alarm(name: str, description: str, body: str) -> str:
    return (
        f"  {name}:\n"
        "    Type: AWS::CloudWatch::Alarm\n"
        "    Properties:\n"
        f"      AlarmDescription: {json.dumps(description)}\n"
        f"{body}"
        "      TreatMissingData: notBreaching\n"
        "      AlarmActions: [!Ref AlarmTopic]\n"
        "      OKActions: [!Ref AlarmTopic]\n"
    )


def _single(namespace: str, metric: str, dimension: str, value: str, statistic: str, period: int) -> str:
    return (
        f"      Namespace: {namespace}\n"
        f"      MetricName: {metric}\n"
        f"      Dimensions: [{{ Name: {dimension}, Value: {value} }}]\n"
        f"      Statistic: {statistic}\n"
        f"      Period: {period}\n"
        "      EvaluationPeriods: 1\n"
        "      Threshold: 1\n"
        "      ComparisonOperator: GreaterThanOrEqualToThreshold\n"
    )


def function_alarms(logical_id: str) -> str:
    stem = _stem(logical_id, "Function")
    value = f"!Ref {logical_id}"
    errors = _single("AWS/Lambda", "Errors", "FunctionName", value, "Sum", 300)
    throttles = _single("AWS/Lambda", "Throttles", "FunctionName", value, "Sum", 300)
    return _alarm(
        f"{stem}ErrorsAlarm", f"{logical_id} failed (an unhandled error or a timeout)", errors
    ) + _alarm(f"{stem}ThrottlesAlarm", f"{logical_id} was throttled (concurrency exhausted)", throttles)


def dead_letter_alarm(logical_id: str) -> str:
    value = f"!GetAtt {logical_id}.QueueName"
    body = _single("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", value, "Maximum", 300)
    return _alarm(
        f"{logical_id}Alarm",
        f"A failed asynchronous event waits in {logical_id}: fix the cause, then make replay-dlq",
        body,
    )


def state_machine_alarm(logical_id: str) -> str:
    def metric(ident: str, name: str) -> str:
        return (
            f"        - Id: {ident}\n"
            "          ReturnData: false\n"
            "          MetricStat:\n"
            "            Metric:\n"
            "              Namespace: AWS/States\n"
            f"              MetricName: {name}\n"
            f"              Dimensions: [{{ Name: StateMachineArn, Value: !Ref {logical_id} }}]\n"
            "            Period: 300\n"
            "            Stat: Sum\n"
        )

    body = (
        "      Metrics:\n"
        + metric("failed", "ExecutionsFailed")
        + metric("timedout", "ExecutionsTimedOut")
        + metric("aborted", "ExecutionsAborted")
        + "        - Id: ended_badly\n"
        "          Expression: failed + timedout + aborted\n"
        "          ReturnData: true\n"
        "      EvaluationPeriods: 1\n"
        "      Threshold: 1\n"
        "      ComparisonOperator: GreaterThanOrEqualToThreshold\n"
    )
    stem = _stem(logical_id, "StateMachine")
    return _alarm(
        f"{stem}ExecutionsAlarm", f"An execution of {logical_id} failed, timed out or was aborted", body
    )


def covered(template: dict[str, Any]) -> dict[str, list[str]]:
    resources = template.get("Resources", {})

    def of(types: tuple[str, ...]) -> list[str]:
        return sorted(lid for lid, res in resources.items() if res.get("Type") in types)

    queues = [lid for lid in of(("AWS::SQS::Queue",)) if lid.endswith(DEAD_LETTER_SUFFIX)]
    return {"functions": of(FUNCTIONS), "dead_letter_queues": queues, "state_machines": of(STATE_MACHINES)}


def render(template: dict[str, Any]) -> str:
    kinds = covered(template)
    parts = [BEGIN + "\n"]
    parts += [function_alarms(lid) + "\n" for lid in kinds["functions"]]
    parts += [dead_letter_alarm(lid) + "\n" for lid in kinds["dead_letter_queues"]]
    parts += [state_machine_alarm(lid) + "\n" for lid in kinds["state_machines"]]
    parts.append(END + "\n")
    return "".join(parts)


def _split(text: str) -> tuple[str, str, str]:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"template.yaml has no block between:\n{BEGIN}\n{END}")
    stop = end + len(END) + 1
    return text[:start], text[start:stop], text[stop:]


def current_block(path: Path = TEMPLATE) -> tuple[str, str]:
    """(the block as it is in the file, the block as it should be)."""
    head, block, tail = _split(path.read_text())
    return block, render(yaml_parse(head + tail))  # what it covers never depends on the block


def update(path: Path = TEMPLATE) -> bool:
    """Rewrite the block; True when it changed."""
    head, block, tail = _split(path.read_text())
    wanted = render(yaml_parse(head + tail))
    if block == wanted:
        return False
    path.write_text(head + wanted + tail)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.alarms", description=__doc__)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--check", action="store_true", help="exit 1 when the block is stale")
    args = parser.parse_args(argv)
    if args.check:
        block, wanted = current_block(args.template)
        if block != wanted:
            print("the alarm block in template.yaml is stale: make alarms", file=sys.stderr)
            return 1
        return 0
    print("alarms updated" if update(args.template) else "alarms up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
