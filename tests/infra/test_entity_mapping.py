"""Entities against PynamoDB models: every field an entity has is an attribute of its model, by the same name.

The store converts items to entities by field name; given each entity and its model, a field without its attribute
(or an attribute nobody reads) is named here with the reason, as the template tests name keys.
"""

from __future__ import annotations

import dataclasses

import pytest

from doti import entities
from doti.store import models

# entity -> (model, entity fields stored otherwise, model attributes the entity leaves out), each with its reason
MAPPED: dict[type, tuple[type[models.Model], dict[str, str], dict[str, str]]] = {
    entities.Contract: (models.ContractModel, {}, {"version": "optimistic locking, kept inside doti.store"}),
    entities.Site: (models.SiteModel, {}, {}),
    entities.Camera: (models.CameraModel, {}, {}),
    entities.Device: (models.DeviceModel, {}, {}),
    entities.User: (models.UserModel, {}, {}),
    entities.Session: (models.SessionModel, {}, {}),
    entities.Frame: (models.FrameModel, {}, {}),
    entities.Note: (
        models.NoteModel,
        {"camera_id": "stored as the key `partition` (a camera's or its site's), see doti.store.notes"},
        {"partition": "the key range a note lives in: its camera, or its site for a site-wide event"},
    ),
    entities.Share: (models.ShareModel, {}, {}),
    entities.Export: (models.ExportModel, {}, {"claim_token": "who is building the export (doti.store.exports)"}),
    entities.AuditEntry: (models.AuditEntryModel, {}, {}),
    entities.ScheduledWork: (
        models.ScheduledWorkModel,
        {},
        {"counted_to": "retention cursors only (doti.store.retention)"},
    ),
    entities.Notice: (models.NoticeModel, {}, {"published_by": "the actor, recorded but not shown"}),
    entities.SuspensionWindow: (models.SuspensionModel, {}, {}),
    entities.Disclosure: (
        models.DisclosureModel,
        {
            "legal_reference": "travels in `scope` (doti.store.disclosures)",
            "frames": "travels in `scope`",
            "package_sha256": "travels in `scope`",
            "package_bytes": "travels in `scope`",
        },
        {},
    ),
}
NOT_STORED = {entities.StaffMember: "read from the staff key item, which stores the member's fields by name"}


def test_every_entity_is_mapped_or_named() -> None:
    every = {v for v in vars(entities).values() if isinstance(v, type) and dataclasses.is_dataclass(v)}
    assert every == set(MAPPED) | set(NOT_STORED)


@pytest.mark.parametrize("entity", list(MAPPED), ids=lambda e: e.__name__)
def test_every_field_has_its_attribute_by_name(entity: type) -> None:
    model, stored_otherwise, model_only = MAPPED[entity]
    fields = {f.name for f in dataclasses.fields(entity)}
    attributes = set(model.get_attributes())

    assert fields - attributes == set(stored_otherwise)
    assert attributes - fields == set(model_only)
