"""What every response model shares: how times are written, and keys that are left out rather than null."""

from __future__ import annotations

from typing import Annotated, Any, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from doti.clock import format_rfc3339

T = TypeVar("T")

# SPEC §12: times in responses are RFC 3339 UTC, always with milliseconds and `Z` (doti.clock.format_rfc3339), which
# pydantic's own datetime serialisation is not (it drops a zero fraction and writes microseconds).
Time = Annotated[
    AwareDatetime,
    PlainSerializer(format_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339 UTC"}),
]
# A number as stored: DynamoDB hands a whole number back as an int, and writing it as a float would change the body.
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]


class _NeverNull:
    """A key that is absent when it does not apply, so its schema names the type only, never null."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
        if len(branches) == 1:
            return {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}
        return schema


def _is_none(value: Any) -> bool:
    return value is None


# A key written only when it has a value (a page's `cursor`, a clip's `duration_ms`): absent, not null, otherwise.
Omittable = Annotated[T | None, Field(default=None, exclude_if=_is_none), _NeverNull()]


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # Omittable keys default to None in Python only; in the document they are simply not required.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class ResponseModel(BaseModel):
    """A response body: exactly the declared keys, in the declared order."""

    # Built by field name (`from_`), written by alias (`from`), as Powertools serialises a returned model. A model's
    # validator is built when it is first used, not at import: a request uses one or two of a function's dozens.
    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra=_no_null_defaults,
        defer_build=True,
    )

    @classmethod
    def from_entity(cls, entity: object, **computed: Any) -> Self:
        """The body of an entity: each declared field from the entity's attribute of the same name, except those
        `computed` gives (a derived value, or a field the entity names otherwise)."""
        return cls.model_validate({name: computed[name] if name in computed else getattr(entity, name)
                                   for name in cls.model_fields})  # fmt: skip

    def field_values(self) -> dict[str, Any]:
        """The fields as they are held (not serialised), to build a model that extends this one."""
        return {name: getattr(self, name) for name in type(self).model_fields}
