"""Data access for owners' invitations (doti.accounts.invitations): one item per pending invitation, in the sessions
table under "invitation:" + the SHA-256 of its token (see InvitationModel), listed per contract through that table's
keys-only by_contract index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DeleteError, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from doti.entities import User
from doti.errors import Conflict, NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import InvitationModel, UserModel
from doti.store.registry import user_item

_PREFIX = "invitation:"
_CANCELLED = "ConditionalCheckFailed"


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    token_hash: str  # SHA-256 of the token in the link; the token itself is never stored
    contract_id: str
    name: str
    role: str
    site_ids: frozenset[str] | None
    created_by: str  # user id of the inviting owner
    created_at: datetime
    expires_at: datetime
    taken_answers: int = 0


def _key(token_hash: str) -> str:
    return _PREFIX + token_hash


def _invitation(item: InvitationModel) -> Invitation:
    return to_entity(Invitation, item, token_hash=item.invitation_key.removeprefix(_PREFIX))


def put_invitation(invitation: Invitation) -> None:
    item = to_item(
        InvitationModel,
        invitation,
        exclude=("token_hash",),
        invitation_key=_key(invitation.token_hash),
        taken_answers=0,
    )
    try:
        item.save(condition=InvitationModel.invitation_key.does_not_exist())
    except PutError as exc:
        raise StorageError("could not store the invitation") from exc


def invitation_by_token_hash(token_hash: str) -> Invitation | None:
    """The invitation, read consistently (one used up a moment ago must not be found); None when there is none."""
    try:
        return _invitation(InvitationModel.get(_key(token_hash), consistent_read=True))
    except InvitationModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the invitation") from exc


def invitations_of_contract(contract_id: str) -> list[Invitation]:
    """The contract's invitation items (expired ones the TTL has not removed yet included).

    The index lists the contract's sessions too (keys only); the invitations are told by their key's prefix and then
    read whole. A contract holds a few dozen sessions at a time (12 hours each), so the listing stays small.
    """
    try:
        keys = [
            item.invitation_key
            for item in InvitationModel.by_contract.query(contract_id)
            if item.invitation_key.startswith(_PREFIX)
        ]
        found = list(InvitationModel.batch_get(keys, consistent_read=True)) if keys else []
    except PynamoDBException as exc:
        raise StorageError("could not list the invitations") from exc
    return [_invitation(item) for item in found if item.contract_id == contract_id]


def delete_invitation(invitation: Invitation) -> bool:
    """Delete an invitation (a revocation); False when it was gone already (accepted, revoked or spent meanwhile)."""
    try:
        InvitationModel(invitation_key=_key(invitation.token_hash)).delete(
            condition=InvitationModel.invitation_key.exists()
        )
    except DeleteError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not delete the invitation") from exc
    return True


def count_taken_answer(invitation: Invitation, limit: int) -> bool:
    """Count one "login id not available" answer on the invitation's page; False when `limit` were given already
    (or the invitation is gone): the caller then spends it."""
    try:
        InvitationModel(invitation_key=_key(invitation.token_hash)).update(
            actions=[InvitationModel.taken_answers.add(1)],
            condition=InvitationModel.invitation_key.exists() & (InvitationModel.taken_answers < limit),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not update the invitation") from exc
    return True


def accept(invitation: Invitation, user: User, now: datetime) -> None:
    """Create the user and use the invitation up, in one transaction: both or neither.

    NotFound when the invitation is gone or expired (used up by a request that came first, revoked, spent); Conflict
    when the login id is taken, in any contract.
    """
    try:
        with TransactWrite(connection=InvitationModel._get_connection().connection) as transaction:
            transaction.delete(
                InvitationModel(invitation_key=_key(invitation.token_hash)),
                condition=InvitationModel.invitation_key.exists() & (InvitationModel.expires_at > now),
            )
            transaction.save(user_item(user), condition=UserModel.login_id.does_not_exist())
    except TransactWriteError as exc:
        reasons = [reason.code if reason else None for reason in exc.cancellation_reasons]
        if not reasons or _CANCELLED not in reasons:
            raise StorageError("could not accept the invitation") from exc
        if reasons[0] == _CANCELLED:
            raise NotFound("invitation not found") from exc
        raise Conflict("login id already exists", login_id=user.login_id) from exc
