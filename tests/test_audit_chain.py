"""The audit hash chain: any edit, deletion or reordering is found and the record named."""

import hashlib
import json

import pytest

from pipelines.lib.audit_chain import (
    GENESIS_HASH,
    Anchor,
    StoredRecord,
    canonical_json,
    chain,
    record_hash,
    verify,
)


def records(n=5):
    return [
        {
            "message_id": f"m{i}",
            "decision": "send",
            "rule_id": None,
            "rules_evaluated": ["tcpa.hours"],
            "score": i / 3,
        }
        for i in range(n)
    ]


def test_record_hash_is_sha256_of_sorted_json_with_prev_hash():
    record = {"b": 1, "a": "x", "seq": 0}
    expected = hashlib.sha256(
        b'{"a":"x","b":1,"prev_hash":"' + GENESIS_HASH.encode() + b'","seq":0}'
    ).hexdigest()
    assert record_hash(GENESIS_HASH, record) == expected
    assert (
        record_hash(GENESIS_HASH, {"seq": 0, "a": "x", "b": 1}) == expected
    )  # key order is irrelevant
    assert record_hash("f" * 64, record) != expected


def test_chain_links_records_in_sequence():
    chained = chain(records(3))
    assert [r["seq"] for r in chained] == [0, 1, 2]
    assert chained[0]["prev_hash"] == GENESIS_HASH
    assert chained[1]["prev_hash"] == chained[0]["record_hash"]
    assert chained[2]["record_hash"] == record_hash(chained[1]["record_hash"], chained[2])
    assert verify(chained) == (True, None, None, "", 3)


def test_chain_continues_from_an_earlier_night():
    first = chain(records(3))
    more = chain(records(2), prev_hash=first[-1]["record_hash"], first_seq=3)
    assert verify(first + more).ok
    assert verify(more, prev_hash=first[-1]["record_hash"], first_seq=3).ok


def test_chain_refuses_records_that_carry_chain_fields():
    with pytest.raises(ValueError, match="set by the chain"):
        chain([{"message_id": "m0", "seq": 7}])


def test_survives_a_json_round_trip():
    chained = chain(records())
    assert verify(json.loads(json.dumps(chained))).ok


@pytest.mark.parametrize(
    "field, value",
    [("decision", "suppress"), ("score", 0.0), ("rules_evaluated", []), ("record_hash", "0" * 64)],
)
def test_edited_field_is_named(field, value):
    chained = chain(records())
    chained[2][field] = value
    result = verify(chained)
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 2, "m2")
    assert "edited" in result.reason


def test_added_field_is_an_edit():
    chained = chain(records())
    chained[3]["note"] = "x"
    assert verify(chained).first_bad_id == "m3"


def test_deleted_row_is_named():
    chained = chain(records())
    del chained[1]
    result = verify(chained)
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 1, "m2")
    assert "missing" in result.reason


def test_swapped_pair_is_named():
    chained = chain(records())
    chained[2], chained[3] = chained[3], chained[2]
    result = verify(chained)
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 2, "m3")


def test_reordered_backwards_is_out_of_order():
    chained = chain(records())
    chained[1], chained[3] = chained[3], chained[1]
    assert verify(chained).first_bad_index == 1
    chained = chain(records())
    moved = chained.pop(0)
    chained.insert(2, moved)
    result = verify(chained)
    assert result.first_bad_index == 0 and "missing" in result.reason


def test_a_resequenced_deletion_still_breaks_the_links():
    # Whoever deletes a record and renumbers the rest, without rehashing, breaks prev_hash.
    chained = chain(records())
    del chained[1]
    for i, r in enumerate(chained):
        r["seq"] = i
    result = verify(chained)
    assert result.first_bad_index == 1 and not result.ok


def test_truncation_is_found_only_against_an_anchor():
    chained = chain(records())
    head = Anchor(5, chained[-1]["record_hash"], "night 2")
    assert verify(chained[:-1]).ok  # the tail alone cannot tell
    result = verify(chained[:-1], anchors=[head])
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 4, None)
    assert "deleted from its end" in result.reason
    assert verify(chained, anchors=[head]).ok


def test_each_night_anchors_the_chain_where_it_ended():
    chained = chain(records(6))
    nights = [Anchor(0, GENESIS_HASH, "night 0"), Anchor(2, chained[1]["record_hash"], "night 1"),
              Anchor(6, chained[5]["record_hash"], "night 2")]
    assert verify(chained, anchors=nights).ok
    # a whole night deleted, its anchor with it: the anchors kept outside still see it
    outside = [Anchor(6, chained[5]["record_hash"], "the manifest")]
    assert not verify(chained[:2], anchors=nights[:2] + outside).ok
    assert verify(chained[:2], anchors=nights[:2]).ok


def test_a_rewritten_chain_breaks_at_the_first_anchor_after_the_edit():
    chained = chain(records(6))
    nights = [Anchor(2, chained[1]["record_hash"], "night 1"),
              Anchor(4, chained[3]["record_hash"], "night 2"),
              Anchor(6, chained[5]["record_hash"], "night 3")]
    edited = [{k: v for k, v in r.items() if k not in ("seq", "prev_hash", "record_hash")}
              for r in chained]
    edited[2]["decision"] = "suppress"
    result = verify(chain(edited), anchors=nights)  # every hash recomputed after the edit
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 3, "m3")
    assert "night 2" in result.reason and "rewritten" in result.reason


def test_records_after_the_last_anchor_were_added_outside_a_night():
    chained = chain(records(4))
    result = verify(chained, anchors=[Anchor(2, chained[1]["record_hash"], "night 1")])
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 2, "m2")
    assert "outside a night" in result.reason
    assert verify(chained, anchors=[]).first_bad_index == 0  # no anchor at all


def test_empty_chain_is_ok():
    assert verify([]).ok and verify([], anchors=[Anchor(0, GENESIS_HASH, "night 0")]).ok
    assert not verify([], anchors=[Anchor(0, "f" * 64, "night 0")]).ok


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_id_field_falls_back_to_seq():
    chained = chain([{"x": i} for i in range(3)])
    chained[1]["x"] = 9
    assert verify(chained).first_bad_id == 1


def test_a_log_read_once_as_it_streams_is_checked_like_a_list():
    """verify reads its records once (a cursor's stream): the record no night covers is still
    named, though the check that finds it comes after the whole log was read."""
    chained = chain(records(6))
    nights = [Anchor(4, chained[3]["record_hash"], "night 1")]
    result = verify(iter(chained), anchors=nights)
    assert (result.ok, result.first_bad_index, result.first_bad_id) == (False, 4, "m4")
    assert "outside a night" in result.reason
    assert verify(iter(chained[:4]), anchors=nights) == (True, None, None, "", 4)
    assert verify(iter([]), anchors=[]) == (True, None, None, "", 0)


def _stored(record, text):
    chain_fields = {k: record[k] for k in ("seq", "message_id", "prev_hash", "record_hash")}
    return StoredRecord(chain_fields.items(), text, lambda: record)


def _text(record):
    return canonical_json({k: v for k, v in record.items() if k != "record_hash"})


def test_a_stored_records_own_text_is_trusted_only_when_it_hashes_to_its_hash():
    chained = chain(records(3))
    # texts as the store builds them: the canonical JSON of the fields less record_hash
    assert verify([_stored(r, _text(r)) for r in chained]).ok
    # a store writing a value otherwise than Python (here spaces): record_hash decides, and
    # the fields are those that were hashed
    assert verify([_stored(r, json.dumps({**r, "pad": 1})) for r in chained]).ok
    # an edited field with the text the store builds of it: the text no longer hashes to the
    # stored hash, and record_hash finds the edit
    edited = [dict(r) for r in chained]
    edited[1]["decision"] = "suppress"
    result = verify([_stored(r, _text(r)) for r in edited])
    assert (result.ok, result.first_bad_id) == (False, "m1")
    assert "edited" in result.reason
