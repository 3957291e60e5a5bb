"""The audit log's hash chain: each record carries a sequence number and the hash of the one before.

A record's hash covers every field of it (its `seq` and `prev_hash` included, `record_hash`
excluded) as canonical JSON, so an edited field, a deleted record or a reordered pair breaks
the chain at that record. Deleting the newest records is only caught against a head hash kept
elsewhere (`expected_head`), and a chain recomputed from scratch only against such an anchor too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "record_hash")


def canonical_json(record: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, no NaN: the same record always gives the same text."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def record_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON with `prev_hash` set to the previous record's hash."""
    body = {k: v for k, v in record.items() if k != "record_hash"}
    body["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def chain(
    records: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS_HASH, first_seq: int = 0
) -> list[dict[str, Any]]:
    """The records with seq, prev_hash and record_hash added, continuing a chain whose last
    record has hash `prev_hash` and sequence number `first_seq - 1`."""
    out = []
    for seq, record in enumerate(records, start=first_seq):
        taken = [f for f in CHAIN_FIELDS if f in record]
        if taken:
            raise ValueError(f"record {seq}: fields {taken} are set by the chain")
        linked = {**record, "seq": seq, "prev_hash": prev_hash}
        linked["record_hash"] = prev_hash = record_hash(prev_hash, linked)
        out.append(linked)
    return out


class VerifyResult(NamedTuple):
    ok: bool
    first_bad_index: int | None = None  # position in the list given; len(records) if truncated
    first_bad_id: Any = None  # the record's id field (default message_id), else its seq
    reason: str = ""
    checked: int = 0


def verify(
    records_in_order: Iterable[Mapping[str, Any]],
    prev_hash: str = GENESIS_HASH,
    first_seq: int = 0,
    expected_head: str | None = None,
    id_field: str = "message_id",
) -> VerifyResult:
    """Check a chain in storage order; name the first record that breaks it."""
    expected_seq, index = first_seq, -1
    for index, record in enumerate(records_in_order):
        reason = _broken(record, expected_seq, prev_hash)
        if reason:
            return VerifyResult(
                False, index, record.get(id_field, record.get("seq")), reason, index
            )
        prev_hash, expected_seq = record["record_hash"], expected_seq + 1
    checked = index + 1
    if expected_head is not None and prev_hash != expected_head:
        return VerifyResult(
            False, checked, None, "the chain ends before its recorded head", checked
        )
    return VerifyResult(True, checked=checked)


def _broken(record: Mapping[str, Any], expected_seq: int, prev_hash: str) -> str:
    """Why a record breaks the chain at its place, or "" when it holds."""
    seq = record.get("seq")
    if seq != expected_seq:
        # A gap alone cannot tell a deleted record from one moved later in the list.
        if isinstance(seq, int) and seq > expected_seq:
            why = "a record is missing or out of order"
        else:
            why = "records are out of order or repeated"
        return f"seq {seq} where {expected_seq} was expected: {why}"
    if record.get("prev_hash") != prev_hash:
        return "prev_hash does not match the previous record's hash"
    if record.get("record_hash") != record_hash(prev_hash, record):
        return "record_hash does not match the record's fields: it was edited"
    return ""
