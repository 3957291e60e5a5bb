"""The audit log's hash chain: each record carries a sequence number and the hash of the one before.

A record's hash covers every field of it (its `seq` and `prev_hash` included, `record_hash`
excluded) as canonical JSON, so an edited field, a deleted record or a reordered pair breaks
the chain at that record. Deleting the newest records, or rewriting the chain from some record
on, is only caught against heads kept elsewhere: anchors, each the hash the chain's last record
had once it held a given number of records (every night records one in `outreach.nights` and in
its send files' manifest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "record_hash")


# json.dumps with these settings would build an encoder per call (once per record hashed)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(record: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, no NaN: the same record always gives the same text."""
    return _CANONICAL.encode(record)


def record_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON with `prev_hash` set to the previous record's hash."""
    body = record
    # A record being linked already carries prev_hash and no hash: it is hashed as it is, with
    # no copy (once per message of a night).
    if "record_hash" in record or record.get("prev_hash") != prev_hash:
        body = {k: v for k, v in record.items() if k != "record_hash"}
        body["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def chain(
    records: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS_HASH, first_seq: int = 0
) -> list[dict[str, Any]]:
    """The records with seq, prev_hash and record_hash added, continuing a chain whose last
    record has hash `prev_hash` and sequence number `first_seq - 1`."""
    return list(link(records, prev_hash, first_seq))


def link(
    records: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS_HASH, first_seq: int = 0
) -> Iterator[dict[str, Any]]:
    """chain() one record at a time, so a long night's records need not all be held."""
    for seq, record in enumerate(records, start=first_seq):
        taken = [f for f in CHAIN_FIELDS if f in record]
        if taken:
            raise ValueError(f"record {seq}: fields {taken} are set by the chain")
        linked = {**record, "seq": seq, "prev_hash": prev_hash}
        linked["record_hash"] = prev_hash = record_hash(prev_hash, linked)
        yield linked


class StoredRecord(dict):
    """A record as read back from storage for verifying: its chain fields and id, with
    `canonical_text`, the canonical JSON the store built of every stored field (`prev_hash`
    the stored one, no `record_hash`), and `whole`, which reads every field.

    When that text hashes to the stored record_hash, record_hash would give the same: the text
    is JSON of the stored fields, and the one record_hash hashed when the record was written is
    JSON of the fields as written, so the same text is the same fields. Only a record whose text
    does not hash to it (a store writing some value otherwise than Python does, or an edit) is
    read whole and hashed again by record_hash, which alone decides."""

    __slots__ = ("canonical_text", "whole")

    def __init__(self, fields: Iterable[tuple[str, Any]], canonical_text: str,
                 whole: Callable[[], Mapping[str, Any]]):
        super().__init__(fields)
        self.canonical_text, self.whole = canonical_text, whole


class Anchor(NamedTuple):
    """The chain's head once it held `records` records, as kept by `where` (a night, a file)."""

    records: int
    head: str
    where: str


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
    anchors: Iterable[Anchor] | None = None,
    id_field: str = "message_id",
) -> VerifyResult:
    """Check a chain in storage order; name the first record that breaks it. Records are read
    one at a time (a long log need not be held).

    With anchors (an empty list included), every record must lie under one: records after the
    last anchor were added outside a night, and an anchor beyond the end means records were
    deleted from it."""
    pinned = sorted(anchors or (), key=lambda a: a.records)
    at = {}  # record count -> the anchors kept at that count
    for anchor in pinned:
        at.setdefault(anchor.records, []).append(anchor)
    last = pinned[-1] if pinned else None
    # the first record no anchor covers: its id is kept on the way in case the log goes on
    uncovered = (last.records if last is not None else first_seq) - first_seq
    uncovered_id = None

    def bad(index: int, found: Mapping[str, Any], reason: str) -> VerifyResult:
        return VerifyResult(False, index, found.get(id_field, found.get("seq")), reason, index)

    rest = iter(records_in_order)
    first = next(rest, None)
    for anchor in at.get(first_seq, ()):
        if anchor.head != prev_hash:
            return bad(0, first or {}, f"the head {anchor.where} recorded before any record "
                                       "differs: the chain was rewritten from its start")
    expected_seq = first_seq
    for index, record in enumerate(_with_first(first, rest)):
        reason = _broken(record, expected_seq, prev_hash)
        if reason:
            return bad(index, record, reason)
        if index == uncovered:
            uncovered_id = record.get(id_field, record.get("seq"))
        prev_hash, expected_seq = record["record_hash"], expected_seq + 1
        for anchor in at.get(expected_seq, ()):
            if anchor.head != prev_hash:
                return bad(index, record, f"its hash is not the head {anchor.where} recorded "
                                          "at this record: the chain was rewritten up to here")
    checked = expected_seq - first_seq
    if anchors is not None:
        if last is not None and last.records > expected_seq:
            return bad(checked, {}, f"the chain ends after {expected_seq} record(s) but "
                                    f"{last.where} recorded its head after {last.records}: "
                                    "records were deleted from its end")
        if uncovered < checked:
            return VerifyResult(False, uncovered, uncovered_id,
                                "no night recorded a head at or after this record: it was "
                                "added outside a night", uncovered)
    return VerifyResult(True, checked=checked)


def _with_first(first: Any, rest: Iterator) -> Iterator:
    """`first` then the rest, unless first is None (the iterable was empty)."""
    if first is not None:
        yield first
        yield from rest


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
    if not _hash_holds(record, prev_hash):
        return "record_hash does not match the record's fields: it was edited"
    return ""


def _hash_holds(record: Mapping[str, Any], prev_hash: str) -> bool:
    """record_hash(prev_hash, record) equals the stored hash; a StoredRecord's own text is
    tried first (its prev_hash is prev_hash, checked before this)."""
    stored = record.get("record_hash")
    if isinstance(record, StoredRecord):
        if hashlib.sha256(record.canonical_text.encode()).hexdigest() == stored:
            return True
        record = record.whole()
    return stored == record_hash(prev_hash, record)
