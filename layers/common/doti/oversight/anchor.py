"""Anchoring the audit log outside DynamoDB (issue 14 §4): daily digests of every chain's head in an S3 bucket
with Object Lock in COMPLIANCE mode, and the check of every chain against them.

Function roles may only append to the audit table, but IAM cannot make a PutItem conditional: a role that appends
could still overwrite an entry, recompute the later hashes and the head, and the chain would link again. A digest
locked before that names the head's (seq, hash) as they were; `verify` finds the rewritten entry by it.

A digest lists (chain, head seq, head hash) for every chain with entries, the previous digest's SHA-256 (digests form a
chain of their own, so one cannot be left out unnoticed) and its own SHA-256 over the rest. Digest n is written at
digests/<n, 10 digits>.json only if that key is new: two runs at once cannot fork the digests; the loser writes
nothing. The chains are the contracts' (listed from the contracts table, where contracts are never deleted) and the
system chain: a head is read per chain, the entries are never scanned.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from doti.clock import format_rfc3339
from doti.oversight import audit
from doti.store import audit as audit_store
from doti.store.anchors import PREFIX, DigestStore, DigestVersion

FORMAT = "doti-audit-digest/1"


class DigestError(ValueError):
    """A stored digest that is not what the anchor wrote (unreadable, or its SHA-256 does not hold)."""


@dataclass(frozen=True)
class Digest:
    number: int
    at: str
    previous_sha256: str | None
    heads: dict[str, tuple[int, str]]  # chain -> (seq, hash)
    sha256: str


@dataclass(frozen=True)
class AnchorRun:
    number: int | None  # the digest written; None when another run wrote that number first
    chains: int
    sha256: str | None


@dataclass
class Verification:
    digests: int = 0
    chains: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def digest_key(number: int) -> str:
    return f"{PREFIX}{number:010d}.json"


def _number_of(key: str) -> int | None:
    name = key.removeprefix(PREFIX).removesuffix(".json")
    return int(name) if key.startswith(PREFIX) and key.endswith(".json") and name.isdigit() else None


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode(number: int, at: datetime, previous_sha256: str | None, heads: dict[str, tuple[int, str]]) -> bytes:
    """The digest's bytes: a canonical JSON document and, in it, the SHA-256 of the document without that field."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "number": number,
        "at": format_rfc3339(at),
        "previous_sha256": previous_sha256,
        "chains": [{"chain": c, "seq": seq, "hash": h} for c, (seq, h) in sorted(heads.items())],
    }
    return _canonical({**document, "sha256": hashlib.sha256(_canonical(document)).hexdigest()})


def decode(body: bytes) -> Digest:
    """The digest in `body`; DigestError when it is not one or its SHA-256 does not hold."""
    try:
        document = json.loads(body)
        claimed = document.pop("sha256")
        if document.get("format") != FORMAT:
            raise DigestError(f"unknown format {document.get('format')!r}")
        heads = {c["chain"]: (int(c["seq"]), str(c["hash"])) for c in document["chains"]}
        digest = Digest(int(document["number"]), document["at"], document["previous_sha256"], heads, claimed)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DigestError(f"not a digest: {exc}") from exc
    if hashlib.sha256(_canonical(document)).hexdigest() != claimed:
        raise DigestError("its sha256 does not match its content")
    return digest


def chains() -> list[str]:
    """Every chain that may hold entries: each contract's, and the system chain."""
    return [audit.SYSTEM, *audit_store.contract_chains()]


def _by_key(versions: Iterable[DigestVersion]) -> dict[str, list[DigestVersion]]:
    grouped: dict[str, list[DigestVersion]] = defaultdict(list)
    for version in versions:
        grouped[version.key].append(version)
    return grouped


def anchor(store: DigestStore, now: datetime) -> AnchorRun:
    """Write the next digest: the head of every chain, linked to the newest digest written before."""
    grouped = _by_key(store.versions())
    numbered = sorted((n, key) for key in grouped if (n := _number_of(key)) is not None)
    written = [key for _, key in numbered if any(not v.delete_marker for v in grouped[key])]
    previous_sha256 = None
    if written:
        # The first version of the newest digest is the one the anchor wrote; later versions, delete markers (even
        # on a key that never held a digest) are tampering that verify reports. Chaining to the original and
        # numbering past every key keeps the anchor running, and verify reporting, past them.
        original = next(v for v in grouped[written[-1]] if not v.delete_marker)
        previous_sha256 = decode(store.read(original)).sha256
    number = numbered[-1][0] + 1 if numbered else 1
    heads = {chain: head for chain in chains() if (head := audit_store.head(chain)) is not None}
    body = encode(number, now, previous_sha256, heads)
    if not store.put_new(digest_key(number), body):
        return AnchorRun(None, len(heads), None)
    return AnchorRun(number, len(heads), json.loads(body)["sha256"])


def verify(store: DigestStore) -> Verification:
    """Check the digests (each intact, written once, never deleted, each naming the one before) and every chain
    (its links from seq 1 to its head, and every (seq, hash) any digest anchored for it)."""
    result = Verification()
    anchored: dict[str, dict[int, str]] = defaultdict(dict)
    previous: Digest | None = None
    for key, versions in sorted(_by_key(store.versions()).items()):
        number = _number_of(key)
        kept = [v for v in versions if not v.delete_marker]
        if number is None:
            result.problems.append(f"digest {key}: not a digest's name")
            continue
        if len(kept) != len(versions):
            result.problems.append(f"digest {key}: deleted (a delete marker hides it; the locked version remains)")
        if len(kept) > 1:
            result.problems.append(f"digest {key}: overwritten ({len(kept)} versions; the first is checked)")
        if not kept:
            continue
        try:
            digest = decode(store.read(kept[0]))
        except DigestError as exc:
            result.problems.append(f"digest {key}: {exc}")
            previous = None
            continue
        result.digests += 1
        expected = previous.number + 1 if previous else 1
        if digest.number != number or number != expected:
            result.problems.append(f"digest {key}: numbered {digest.number}, expected {expected}")
        if digest.previous_sha256 != (previous.sha256 if previous else None):
            result.problems.append(f"digest {key}: previous_sha256 does not name digest {expected - 1}")
        for chain, (seq, digest_hash) in digest.heads.items():
            if anchored[chain].setdefault(seq, digest_hash) != digest_hash:
                result.problems.append(f"chain {chain} seq {seq}: digests anchored two different hashes")
        previous = digest
    for chain in sorted(set(chains()) | set(anchored)):
        report = audit.verify_chain(chain, anchored.get(chain))
        result.chains += 1
        result.entries += report.entries
        if not report.intact:
            result.problems.append(f"chain {chain} seq {report.first_broken_seq}: {report.problem}")
    return result
