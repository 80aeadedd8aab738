"""Data access for disclosures: one item per disclosure, kept after the contract's data is purged."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from doti.entities import Disclosure
from doti.errors import NotFound, StorageError
from doti.store.mapping import to_item
from doti.store.models import DisclosureModel
from doti.store.transactions import Transaction


def add_new_disclosure(transaction: Transaction, disclosure: Disclosure) -> None:
    """Store a new disclosure, in the transaction of its "disclosure.created" entry."""
    # DisclosureModel has no columns for the legal reference and the package's digest; they travel in `scope`.
    scope = {
        **disclosure.scope,
        "frames": disclosure.frames,
        "legal_reference": disclosure.legal_reference,
        "package": {"sha256": disclosure.package_sha256, "bytes": disclosure.package_bytes},
    }
    travels_in_scope = ("legal_reference", "frames", "package_sha256", "package_bytes")
    item = to_item(DisclosureModel, disclosure, exclude=travels_in_scope, scope=scope)
    transaction.save(item, condition=DisclosureModel.disclosure_id.does_not_exist())


def get_disclosure(disclosure_id: str) -> Disclosure:
    try:
        item = DisclosureModel.get(disclosure_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound("disclosure not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the disclosure") from exc
    scope = dict(item.scope or {})
    frames = int(scope.pop("frames", 0))
    legal_reference = scope.pop("legal_reference", None)
    package = scope.pop("package", {}) or {}
    return Disclosure(
        disclosure_id=item.disclosure_id,
        contract_id=item.contract_id,
        basis=item.basis,
        recipient=item.recipient,
        reason=item.reason,
        legal_reference=legal_reference,
        scope=scope,
        frames=frames,
        package_key=item.package_key or "",
        package_sha256=package.get("sha256", ""),
        package_bytes=int(package.get("bytes", 0)),
        created_by=item.created_by,
        created_at=item.created_at,
    )
