"""What a run left behind, read the way the invariants need it, and the invariants themselves.

Every reader here runs after the operation and its retries, paused (its calls are not the code under test), and is
scoped to the run's tenant; since the stack is wiped between runs, what it reads is the run's and nothing else.

The invariants, checked against the clean run of the same scenario:
- exactly one visible result: what a customer or staff member can see of the operation (`results`) equals the
  clean run's;
- charged once: the tenant's usage counters equal the clean run's;
- no visible orphan: nothing a customer can reach points at something gone (an index item without its object),
  and nothing stored for good escapes its expiry (an object without an index item and without a retention tag);
- every audit entry that the clean run writes exists exactly once (the tenant's chain, as a multiset of action and
  subject, ids made run-independent; a second share or export has the same subject, `shr_*`, as the first); an
  action a retried request writes once per attempt (a link holder's reload is a second view) is bounded by the
  attempts instead. Entries the clean run does not write (an export that failed once, then was built) are the
  retries' own and not judged;
- certificates and receipts equal what was stored (each scenario says what it certifies);
- at most one e-mail per fact: no subject is mailed more often than in the clean run, unless at most once.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from moto.ses.models import ses_backends

from doti.settings import get_settings
from doti.store.audit import HEAD_SEQ
from doti.store.aws import s3_client
from doti.store.keys import RETENTION_TAG
from doti.store.models import AuditEntryModel, FrameModel, UsageModel
from tests.faults.harness import ACCOUNT, REGION

EXACTLY_ONE = "exactly one visible result"
CHARGED_ONCE = "charged once"
NO_ORPHAN = "no visible orphan"
AUDIT_ONCE = "audit entry exactly once"
RECEIPTS = "certificates and receipts equal what was stored"
ONE_MAIL = "at most one e-mail per fact"
RUN_FAILED = "the run itself failed"

_GENERATED_ID = re.compile(r"\b([a-z]{3})_[0-9a-z]{20}\b")
_TIME_SORTED_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


class Names:
    """Makes a run's ids run-independent: the ids the seed made get its labels (contract, camera, frame1…), any
    other generated id its kind (`shr_*`), any other time-sorted id `id*`."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = dict(labels)

    def __call__(self, text: str | None) -> str:
        if text is None:
            return "-"
        for value, label in self.labels.items():
            text = text.replace(value, f"<{label}>")
        text = _GENERATED_ID.sub(lambda m: f"{m.group(1)}_*", text)
        return _TIME_SORTED_ID.sub("id*", text)


@dataclass
class Observation:
    results: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, tuple[int, int]] = field(default_factory=dict)
    audit: Counter[tuple[str, str]] = field(default_factory=Counter)
    mail: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (invariant, what broke): must stay empty
    per_attempt: dict[str, tuple[int, int]] = field(default_factory=dict)  # audit action -> (at least, at most)
    certified: dict[str, Any] = field(default_factory=dict)  # what a certificate says: compared with the clean run's

    def problem(self, invariant: str, text: str) -> None:
        self.problems.append((invariant, text))


def compare(clean: Observation, seen: Observation) -> list[tuple[str, str]]:
    """The invariants a run broke, as (invariant, what broke), judged against the clean run."""
    broken = list(seen.problems)
    for name in sorted(set(clean.results) | set(seen.results)):
        want, got = clean.results.get(name), seen.results.get(name)
        if want != got:
            broken.append((EXACTLY_ONE, f"{name}: {got!r}, the clean run's {want!r}"))
    for name in sorted(set(clean.certified) | set(seen.certified)):
        want, got = clean.certified.get(name), seen.certified.get(name)
        if want != got:
            broken.append((RECEIPTS, f"{name}: {_difference(got, want)}"))
    if seen.usage != clean.usage:
        broken.append((CHARGED_ONCE, f"usage {seen.usage}, the clean run's {clean.usage}"))
    for action, subject in sorted(set(clean.audit)):  # what the clean run writes; a retry may add its own entries
        got = seen.audit[(action, subject)]
        if action in seen.per_attempt:
            low, high = seen.per_attempt[action]
            if not low <= got <= high:
                broken.append((AUDIT_ONCE, f"{action} {subject}: {got} entries for {low} to {high} attempts"))
        elif got != clean.audit[(action, subject)]:
            want = clean.audit[(action, subject)]
            broken.append((AUDIT_ONCE, f"{action} {subject}: {got} entries, the clean run wrote {want}"))
    for subject, count in sorted(seen.mail.items()):
        if count > 1 and count > clean.mail[subject]:
            broken.append((ONE_MAIL, f"{count} e-mails {subject!r}, the clean run sent {clean.mail[subject]}"))
    return broken


def _difference(got: Any, want: Any) -> str:
    """What differs, key by key for two mappings (a certificate's counts), else both values."""
    if isinstance(got, dict) and isinstance(want, dict):
        keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        return ", ".join(f"{k} {got.get(k, 0)} (clean run {want.get(k, 0)})" for k in keys)
    return f"{got!r}, the clean run's {want!r}"


# readers (call them paused)


def audit_entries(contract_id: str) -> list[Any]:
    """The tenant's audit chain, oldest first (the head item is not an entry)."""

    return list(AuditEntryModel.query(contract_id, AuditEntryModel.seq > HEAD_SEQ, consistent_read=True))


def audit_multiset(contract_id: str, names: Names) -> Counter[tuple[str, str]]:
    return Counter((entry.action, names(entry.subject)) for entry in audit_entries(contract_id))


def usage(contract_id: str) -> dict[str, tuple[int, int]]:
    return {
        item.period: (int(item.bytes_stored or 0), int(item.objects_stored or 0))
        for item in UsageModel.query(contract_id, consistent_read=True)
    }


def mail(names: Names) -> Counter[str]:
    """Subjects of the e-mails SES sent (the outbox is emptied between runs, so all are this run's)."""

    return Counter(names(message.subject) for message in ses_backends[ACCOUNT][REGION].sent_messages)


def mail_bodies(names: Names) -> list[tuple[str, str]]:
    return [(names(m.subject), m.body) for m in ses_backends[ACCOUNT][REGION].sent_messages]


def frame_items(contract_id: str) -> list[Any]:
    return list(FrameModel.scan(FrameModel.contract_id == contract_id))


def objects(prefix: str) -> dict[str, int]:
    """Key -> size of every current object under `prefix`."""
    found: dict[str, int] = {}
    pages = _s3().get_paginator("list_objects_v2").paginate(Bucket=_bucket(), Prefix=prefix)
    for page in pages:
        found.update({entry["Key"]: entry["Size"] for entry in page.get("Contents", [])})
    return found


def tags(key: str) -> dict[str, str]:
    tagging = _s3().get_object_tagging(Bucket=_bucket(), Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tagging}


def _s3() -> Any:
    return s3_client(_region())


def _region() -> str:
    return REGION


def _bucket() -> str:
    return get_settings().frames_bucket


def frame_orphans(contract_id: str, seen: Observation) -> None:
    """Index items whose objects are gone (a customer would get a broken image), and objects under the tenant's
    frames/ and thumbs/ with no index item that no lifecycle rule will ever expire (no retention tag)."""

    items = frame_items(contract_id)
    stored = objects(f"frames/{contract_id}/") | objects(f"thumbs/{contract_id}/")
    indexed: set[str] = set()
    for item in items:
        for key in (item.object_key, item.thumb_key):
            if key is None:  # a still's thumbnail is rendered when viewed: no object to point at
                continue
            indexed.add(key)
            if key not in stored:
                seen.problem(NO_ORPHAN, f"index item {item.frame_id} points at {key}, which is gone")
    for key in sorted(set(stored) - indexed):
        if RETENTION_TAG not in tags(key):
            seen.problem(NO_ORPHAN, f"{key} has no index item and no retention tag: it would never expire")


def frame_digests(contract_id: str, seen: Observation) -> None:
    """Each index item's SHA-256 and size (what the device was answered, what exports and disclosures vouch for)
    are those of the original stored at its key."""

    for item in frame_items(contract_id):
        try:
            stored = _s3().get_object(Bucket=_bucket(), Key=item.object_key)["Body"].read()
        except ClientError:
            continue  # a missing object is frame_orphans' to report
        if (hashlib.sha256(stored).hexdigest(), len(stored)) != (item.sha256, int(item.size)):
            seen.problem(RECEIPTS, f"frame {item.frame_id}: the index's SHA-256 and size are not the stored original's")
