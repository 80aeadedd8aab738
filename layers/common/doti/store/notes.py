"""Data access for text data (SPEC §4): the notes table, one key range per camera (or site), never scanned."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.frames import _predecessor  # the same fixed-width, time-sorted id layout as frame ids
from doti.store.mapping import to_entity, to_item
from doti.store.models import NoteModel


def partition_of(note: entities.Note) -> str:
    """The hash key a note lives under: its camera, or its site for a device event about the whole site."""
    return note.camera_id or note.site_id


def _note(item: NoteModel) -> entities.Note:
    return to_entity(entities.Note, item, camera_id=None if item.partition == item.site_id else item.partition)


def _item(note: entities.Note) -> NoteModel:
    return to_item(NoteModel, note, exclude=("camera_id",), partition=partition_of(note))


def put_new_note(note: entities.Note) -> entities.Note | None:
    """Store the note unless its key is taken; returns None when stored, else the note already at that key.

    A note at the key equal to ours in every field (its creation time to the microsecond included) is our own write:
    its answer was lost, or botocore resent it after it applied and the resend failed its own condition."""
    try:
        _item(note).save(condition=NoteModel.note_id.does_not_exist())
    except PutError as exc:
        try:
            first = get_note(partition_of(note), note.note_id)
        except NotFound:
            first = None
        if first == note:
            return None
        if first is None or not is_condition_failure(exc):
            raise StorageError("could not store the note") from exc
        return first
    except PynamoDBException as exc:
        raise StorageError("could not store the note") from exc
    return None


def add_new_note(transaction: TransactWrite, note: entities.Note) -> None:
    """Store the note, in the transaction of its audit entry, unless its key is taken."""
    transaction.save(_item(note), condition=NoteModel.note_id.does_not_exist())


def get_note(partition: str, note_id: str) -> entities.Note:
    try:
        return _note(NoteModel.get(partition, note_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("note not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the note") from exc


def query_notes(
    partition: str, lower_id: str, upper_id: str, *, newest_first: bool, limit: int, now: datetime
) -> tuple[list[entities.Note], bool]:
    """Up to `limit` notes of one partition with lower_id <= note_id < upper_id, hiding items past expires_at.

    Returns the notes in the asked order and whether more may follow in that range.
    """
    highest = _predecessor(upper_id)  # between() is inclusive
    if lower_id > highest:
        return [], False
    notes: list[entities.Note] = []
    try:
        # Expired-but-not-yet-TTL'd items are filtered out, so a page may need several DynamoDB pages.
        query = NoteModel.query(
            partition,
            range_key_condition=NoteModel.note_id.between(lower_id, highest),
            filter_condition=NoteModel.expires_at > now,
            scan_index_forward=not newest_first,
            page_size=limit,
        )
        for item in query:
            notes.append(_note(item))
            if len(notes) == limit:
                break
        more = len(notes) == limit and query.last_evaluated_key is not None
    except PynamoDBException as exc:
        raise StorageError("could not list notes") from exc
    return notes, more


def note_ids_below(partition: str, upper_id: str, limit: int) -> list[str]:
    """The ids of up to `limit` of a partition's oldest notes with note_id < upper_id (a key-range query)."""
    try:
        query = NoteModel.query(
            partition,
            range_key_condition=NoteModel.note_id < upper_id,
            attributes_to_get=["note_id"],
            limit=limit,
            page_size=limit,
        )
        return [item.note_id for item in query]
    except PynamoDBException as exc:
        raise StorageError("could not query expired notes") from exc


def delete_notes(partition: str, note_ids: Iterable[str]) -> None:
    """Batch-delete (PynamoDB sends 25 per BatchWriteItem and retries unprocessed items)."""
    try:
        with NoteModel.batch_write() as batch:
            for note_id in note_ids:
                batch.delete(NoteModel(partition, note_id))
    except PynamoDBException as exc:
        raise StorageError("could not delete notes") from exc
