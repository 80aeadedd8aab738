"""Entities against PynamoDB models: every field an entity has is an attribute of its model, by the same name.

The store converts items to entities by field name (doti.store.mapping), keeping the stored format (expiries in
epoch seconds, no empty sets); given each entity and its model, a field without its attribute (or an attribute
nobody reads) is named here with the reason, as the template tests name keys.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import boto3
import pytest

from doti import entities
from doti.store import mapping, models

# entity -> (model, entity fields stored otherwise, model attributes the entity leaves out), each with its reason
MAPPED: dict[type, tuple[type[models.Model], dict[str, str], dict[str, str]]] = {
    entities.Contract: (models.ContractModel, {}, {"version": "optimistic locking, kept inside doti.store"}),
    entities.Site: (models.SiteModel, {}, {}),
    entities.Camera: (models.CameraModel, {}, {}),
    entities.Device: (models.DeviceModel, {}, {}),
    entities.User: (models.UserModel, {}, {}),
    entities.Session: (models.SessionModel, {}, {}),
    entities.Frame: (
        models.FrameModel,
        {},
        {"claim_token": "the request that indexed it, so it knows its own write (doti.store.indexing)"},
    ),
    entities.Note: (
        models.NoteModel,
        {"camera_id": "stored as the key `partition` (a camera's or its site's), see doti.store.notes"},
        {"partition": "the key range a note lives in: its camera, or its site for a site-wide event"},
    ),
    entities.Share: (models.ShareModel, {}, {}),
    entities.SubjectRequest: (models.SubjectRequestModel, {}, {}),
    entities.Webhook: (models.WebhookModel, {}, {"sort_key": 'the item\'s place in its partition: "endpoint"'}),
    entities.WebhookAttempt: (
        models.WebhookAttemptModel,
        {},
        {"sort_key": '"attempt#<time>#<event>#<n>": the log reads an endpoint\'s newest attempts first'},
    ),
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


def test_an_expiry_is_stored_as_whole_epoch_seconds_and_read_back_as_the_time_it_was(aws) -> None:
    # Given a session expiring at a whole second, written through the one mapping
    expires = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    session = entities.Session("a" * 64, "mapping-user", "usr_1", "ctr_1", expires, created_at=expires)
    mapping.to_item(models.SessionModel, session).save()

    # Then the table holds the epoch seconds DynamoDB TTL reads, as before the mapping
    raw = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws.refs["SessionsTable"], Key={"token_hash": {"S": "a" * 64}}
    )["Item"]
    assert raw["expires_at"] == {"N": str(int(expires.timestamp()))}
    # And it reads back as the same entity
    assert mapping.to_entity(entities.Session, models.SessionModel.get("a" * 64)) == session


@pytest.mark.parametrize("site_ids", [None, frozenset({"sit_a", "sit_b"})], ids=["every-site", "two-sites"])
def test_a_users_sites_are_a_string_set_or_absent_and_read_back_as_given(aws, site_ids) -> None:
    # Given a user of some sites, or of every site (no set: DynamoDB has no empty set)
    at = datetime(2031, 5, 6, tzinfo=UTC)
    user = entities.User("usr_m", f"mapping-{len(site_ids or ())}", "ctr_1", "Mapping", "viewer", site_ids, "h", at)
    mapping.to_item(models.UserModel, user).save()

    # Then the set is stored as a string set, or not at all
    raw = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws.refs["UsersTable"], Key={"login_id": {"S": user.login_id}}
    )["Item"]
    assert ("site_ids" not in raw) if site_ids is None else (set(raw["site_ids"]["SS"]) == site_ids)
    # And the user reads back as given
    assert mapping.to_entity(entities.User, models.UserModel.get(user.login_id)) == user
