"""Model bases: camelCase on the wire (the R1 frontend's convention), snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A response body: camelCase keys, extra keys ignored.

    `defer_build`: a model's validator is built at its first use, so a function pays only for
    the models its route touches, not for every model its imports define."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, defer_build=True
    )


class StrictApiModel(ApiModel):
    """A request body: unknown keys are an error that names the field. Free text is stripped
    by its field type (`fields.text`), after the length check, so the documented limits hold."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        defer_build=True,
    )
