"""Support for the contract tests: the shared reference files, value shapes and spec validation."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "sevdesk"
RECORDED = SHARED / "recorded"
SPEC_URI = "urn:sevdesk-openapi"


def require_shared() -> None:
    if not (RECORDED.is_dir() and (SHARED / "openapi.yaml").is_file()):
        pytest.skip(f"shared sevDesk reference material not found at {SHARED} (it lives outside the repo)")


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array"}[type(value)]


def shape_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where the two JSON values differ in structure (key sets, value kinds), ignoring the values."""
    if kind(expected) != kind(actual):
        return [f"{path}: recorded {kind(expected)}, emulator {kind(actual)}"]
    if isinstance(expected, dict):
        differences = [f"{path}.{key}: missing in emulator" for key in expected.keys() - actual.keys()]
        differences += [f"{path}.{key}: not in recording" for key in actual.keys() - expected.keys()]
        for key in expected.keys() & actual.keys():
            differences += shape_differences(expected[key], actual[key], f"{path}.{key}")
        return differences
    if isinstance(expected, list) and expected and actual:
        same_length = len(expected) == len(actual)
        pairs = zip(expected, actual, strict=False) if same_length else [(expected[0], actual[0])]
        return [d for index, (e, a) in enumerate(pairs) for d in shape_differences(e, a, f"{path}[{index}]")]
    return []


@functools.cache
def spec() -> dict[str, Any]:
    # CSafeLoader where available: the spec is 17k lines
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SHARED / "openapi.yaml").read_text(encoding="utf-8"), Loader=loader)


# values the real API sends outside [SPEC]'s enums: a draft reads sendType "0" (invoice_draft.json,
# NOTES.md "What a faithful emulator must model" 2)
WIRE_ENUM_ADDITIONS = {"sendType": ["0"]}


def _translate(node: Any, wire: bool) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type. With `wire`, also NOTES.md §0's
    encoding: numbers/booleans may arrive as strings, and unset fields as null (recorded files)."""
    if isinstance(node, list):
        return [_translate(item, wire) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _translate(value, wire) for key, value in node.items()}
    if wire and isinstance(out.get("properties"), dict):
        for name, extra in WIRE_ENUM_ADDITIONS.items():
            prop = out["properties"].get(name)
            if isinstance(prop, dict) and "enum" in prop:
                prop["enum"] = [*prop["enum"], *extra]
    declared = out.get("type")
    if isinstance(declared, str):
        types = {declared}
        if out.get("nullable") is True or wire:
            types.add("null")
        if wire and declared in {"number", "integer", "boolean"}:
            types.add("string")
        out["type"] = sorted(types)
        if "null" in types and "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _registry(wire: bool) -> Registry:
    resource = Resource(contents=_translate(spec(), wire), specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def response_schema_pointer(path: str, method: str, status: str) -> str:
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    node: Any = spec()["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return node


def _errors(pointer: str, body: Any, wire: bool) -> list[str]:
    validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=_registry(wire))
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]


def schema_errors(path: str, method: str, status: str, body: Any, *, wire: bool = True) -> list[str]:
    """Errors validating `body` against the spec's response schema for that operation."""
    return _errors(response_schema_pointer(path, method, status), body, wire)


def component_errors(name: str, body: Any, *, wire: bool = True) -> list[str]:
    return _errors(f"/components/schemas/{name}", body, wire)
