"""Send files: exact columns, formula guard, round-trip quoting, manifest, atomic private writes."""

import csv
import hashlib
import io
import json
import os
import stat
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pipelines.lib import send_files
from pipelines.lib.send_files import (
    SEND_FILES,
    cell,
    csv_bytes,
    publish_dir,
    staging_dir,
    write_atomic,
    write_send_files,
)

AS_OF = date(2026, 11, 28)
WHEN = datetime(2026, 11, 29, 10, tzinfo=ZoneInfo("America/New_York"))


def sms(message_id, body="Rates fell. Reply STOP to opt out.", phone="+15551234567"):
    return {
        "message_id": message_id,
        "borrower_id": "b1",
        "campaign_id": "refinance",
        "step": 1,
        "scheduled_for": WHEN,
        "to_phone": phone,
        "body_text": body,
    }


def read(data: bytes):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_columns_match_the_contract():
    common = ["message_id", "borrower_id", "campaign_id", "step", "scheduled_for"]
    assert list(SEND_FILES["email.csv"]) == common + [
        "to_email",
        "from_email",
        "reply_to",
        "subject",
        "body_text",
        "body_html",
        "unsubscribe_url",
        "list_unsubscribe",
    ]
    assert list(SEND_FILES["sms.csv"]) == common + ["to_phone", "body_text"]
    assert list(SEND_FILES["call_list.csv"]) == common + [
        "to_phone",
        "loan_officer_id",
        "script_text",
    ]
    assert list(SEND_FILES["direct_mail.csv"]) == common + [
        "name",
        "address",
        "city",
        "state",
        "zip",
        "body_text",
    ]
    assert list(SEND_FILES["lo_call_list.csv"]) == [
        "loan_officer_id",
        "borrower_id",
        "loan_id",
        "to_phone",
        "engagement_score",
        "campaigns",
        "talking_points",
    ]


@pytest.mark.parametrize(
    "text, written",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_injection_is_neutralized_and_round_trips(text, written):
    data, _ = csv_bytes("sms.csv", [sms("m1", body=text)])
    assert read(data)[1][6] == written


def test_numbers_stay_numbers_and_phones_stay_dialable():
    assert cell(-1) == -1 and cell(-1.5) == -1.5 and cell(Decimal("-2.50")) == Decimal("-2.50")
    assert (
        cell(True) == "true"
        and cell(None) == ""
        and cell(["heloc", "refinance"]) == "heloc;refinance"
    )
    assert cell("+15551234567", "to_phone") == "+15551234567"
    assert cell("+1", "to_phone") == "'+1"  # not a phone number: guarded
    assert cell('=HYPERLINK("x")', "to_phone") == '\'=HYPERLINK("x")'
    assert cell("+15551234567", "body_text") == "'+15551234567"
    assert cell(WHEN) == "2026-11-29T10:00:00-05:00" and cell(AS_OF) == "2026-11-28"


def test_quotes_commas_newlines_round_trip():
    body = 'He said "hi", then\nleft.\r\nBye,\rnow'
    data, count = csv_bytes("sms.csv", [sms("m1", body=body)])
    rows = read(data)
    assert count == 1 and rows[1][6] == body and len(rows) == 2
    assert data.count(b"\n") >= 2 and not data.endswith(b"\r\n")


def test_rows_sorted_by_message_id_lf_and_deterministic():
    rows = [sms("m3"), sms("m1"), sms("m2")]
    data, _ = csv_bytes("sms.csv", rows)
    assert [r[0] for r in read(data)[1:]] == ["m1", "m2", "m3"]
    assert data == csv_bytes("sms.csv", rows[::-1])[0]
    assert (
        data.split(b"\n")[0]
        == b"message_id,borrower_id,campaign_id,step,scheduled_for,to_phone,body_text"
    )
    assert read(data)[1][:5] == ["m1", "b1", "refinance", "1", "2026-11-29T10:00:00-05:00"]


def test_wrong_columns_and_duplicates_are_refused():
    with pytest.raises(ValueError, match="missing columns \\['body_text'\\]"):
        csv_bytes("sms.csv", [{k: v for k, v in sms("m1").items() if k != "body_text"}])
    with pytest.raises(ValueError, match="unexpected \\['email'\\]"):
        csv_bytes("sms.csv", [sms("m1") | {"email": "x@y"}])
    with pytest.raises(ValueError, match="duplicate"):
        csv_bytes("sms.csv", [sms("m1"), sms("m1")])


def test_write_send_files_headers_manifest_and_modes(tmp_path):
    directory = staging_dir(tmp_path / "exports", AS_OF)
    assert mode(directory) == 0o700
    lo = {
        "loan_officer_id": "lo1",
        "borrower_id": "b1",
        "loan_id": "l1",
        "to_phone": "+15551234567",
        "engagement_score": 17.25,
        "campaigns": ["heloc", "refinance"],
        "talking_points": "-equity up",
    }
    manifest = write_send_files(
        directory,
        {"sms.csv": [sms("m2"), sms("m1")], "lo_call_list.csv": [lo]},
        run_id="run-abc",
        code_version="0.1.0",
        template_hashes={"refinance/refi_rate_sms": "ab" * 32},
    )
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted([*SEND_FILES, "manifest.json"])
    assert all(mode(directory / n) == 0o600 for n in names)
    assert (directory / "email.csv").read_bytes() == (
        ",".join(SEND_FILES["email.csv"]) + "\n"
    ).encode()
    on_disk = json.loads((directory / "manifest.json").read_text())
    assert on_disk == manifest
    assert on_disk["run_id"] == "run-abc" and on_disk["code_version"] == "0.1.0"
    assert on_disk["template_hashes"] == {"refinance/refi_rate_sms": "ab" * 32}
    assert on_disk["files"]["sms.csv"]["rows"] == 2 and on_disk["files"]["email.csv"]["rows"] == 0
    for name in SEND_FILES:
        assert (
            on_disk["files"][name]["sha256"]
            == hashlib.sha256((directory / name).read_bytes()).hexdigest()
        )
    lo_rows = read((directory / "lo_call_list.csv").read_bytes())
    assert lo_rows[1] == [
        "lo1",
        "b1",
        "l1",
        "+15551234567",
        "17.25",
        "heloc;refinance",
        "'-equity up",
    ]


def test_same_input_same_bytes(tmp_path):
    outs = []
    for n in range(2):
        d = tmp_path / f"d{n}"
        d.mkdir()
        write_send_files(
            d,
            {"sms.csv": [sms("m1"), sms("m2")]},
            run_id="r",
            code_version="v",
            template_hashes={"b": "2", "a": "1"},
        )
        outs.append({p.name: p.read_bytes() for p in d.iterdir()})
    assert outs[0] == outs[1]


def test_extra_files_are_listed_in_the_manifest(tmp_path):
    (tmp_path / "report.html").write_text("<html></html>")
    manifest = write_send_files(
        tmp_path, {}, run_id="r", code_version="v", template_hashes={}, extra_files=["report.html"]
    )
    assert (
        manifest["files"]["report.html"]["sha256"] == hashlib.sha256(b"<html></html>").hexdigest()
    )


def test_unknown_send_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not send files"):
        write_send_files(
            tmp_path, {"fax.csv": []}, run_id="r", code_version="v", template_hashes={}
        )


def test_a_failed_write_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "sms.csv"
    target.write_bytes(b"old\n")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(send_files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new\n" * 1000)
    assert target.read_bytes() == b"old\n"  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sms.csv"]


def test_a_bad_row_midway_writes_nothing(tmp_path):
    def rows():
        yield sms("m1")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_send_files(
            tmp_path, {"sms.csv": rows()}, run_id="r", code_version="v", template_hashes={}
        )
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith("sms") or p.name.startswith(".")
    ] == []


def test_publish_dir_appears_whole(tmp_path):
    out = tmp_path / "exports"
    staged = staging_dir(out, AS_OF)
    write_send_files(
        staged, {"sms.csv": [sms("m1")]}, run_id="r", code_version="v", template_hashes={}
    )
    final = out / AS_OF.isoformat()
    publish_dir(staged, final)
    assert not staged.exists() and mode(final) == 0o700
    assert sorted(p.name for p in final.iterdir()) == sorted([*SEND_FILES, "manifest.json"])
    assert [p.name for p in out.iterdir()] == ["2026-11-28"]  # no staging folders left


def publish_night(out, body):
    staged = staging_dir(out, AS_OF)
    write_send_files(
        staged,
        {"sms.csv": [sms("m1", body=body)]},
        run_id="r",
        code_version="v",
        template_hashes={},
    )
    final = out / AS_OF.isoformat()
    publish_dir(staged, final)
    assert [p.name for p in out.iterdir()] == ["2026-11-28"]  # nothing left beside it
    assert read((final / "sms.csv").read_bytes())[1][6] == body
    return final.stat().st_ino


def test_publish_dir_rerun_same_bytes_changes_nothing_and_new_bytes_are_refused(tmp_path):
    out = tmp_path / "exports"
    first = publish_night(out, "one")
    assert publish_night(out, "one") == first  # the same folder, untouched
    with pytest.raises(FileExistsError, match="already holds other send files"):
        publish_night(out, "two")  # published files are never replaced
    assert read((out / AS_OF.isoformat() / "sms.csv").read_bytes())[1][6] == "one"
    assert (out / AS_OF.isoformat()).stat().st_ino == first


def test_write_atomic_writes_pieces_whole_and_returns_their_sha256(tmp_path):
    target = tmp_path / "sms.csv"
    digest = write_atomic(target, iter([b"message_id\n", b"m1\n", b"m2\n"]))
    assert target.read_bytes() == b"message_id\nm1\nm2\n"
    assert digest == hashlib.sha256(b"message_id\nm1\nm2\n").hexdigest()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failing_piece_leaves_no_file_and_no_temporary(tmp_path):
    def pieces():
        yield b"message_id\n"
        raise RuntimeError("row 2 could not be made")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "sms.csv", pieces())
    assert list(tmp_path.iterdir()) == []
