"""Entities to stored items and back, by field name: the one mapping between doti.entities and doti.store.models.

Each entity field is the model attribute of the same name (tests/infra/test_entity_mapping.py holds every pair to
that). The attributes carry their own conversions: times are UTCDateTimeAttribute, expiries TTLAttribute (epoch
seconds in the table, a UTC datetime in Python). What is left is one rule of DynamoDB's: a set is never empty, so
an empty or absent frozenset is stored as no attribute and read back as None. A field stored another way (a key
with a prefix, a partition) is given by the caller as an override.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pynamodb.models import Model

E = TypeVar("E")
M = TypeVar("M", bound=Model)


def to_entity(cls: type[E], item: Model, **overrides: Any) -> E:
    """The entity `cls` of a stored item; `overrides` give the fields the item stores another way."""
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in overrides:
            value = getattr(item, field.name)
            values[field.name] = frozenset(value) if isinstance(value, set) else value
    return cls(**values, **overrides)


def to_item(model: type[M], entity: object, *, exclude: tuple[str, ...] = (), **overrides: Any) -> M:
    """The stored item of an entity; `exclude` names fields stored another way, `overrides` give their attributes."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(entity):  # type: ignore[arg-type]
        if field.name in exclude or field.name in overrides:
            continue
        value = getattr(entity, field.name)
        values[field.name] = (set(value) or None) if isinstance(value, frozenset) else value
    return model(**values, **overrides)
