"""The second process a big night shares its messages with: order, failure, signals."""

import os
import pickle
import subprocess
import sys
import time

import pytest

from pipelines.lib.outreach.second_process import SecondProcess, SecondProcessFailed


def _worker() -> str:
    return "worker"


def _square(worker: str, night: int, chunk: int) -> tuple:
    assert worker == "worker"
    return ("there", chunk * chunk + night)


def _die(worker: str, night: int, chunk: int) -> tuple:
    os._exit(3)


def _refuse(worker: str, night: int, chunk: int) -> tuple:
    raise ValueError(f"bad chunk {chunk}")


def _slowly_here(i: int) -> tuple:
    time.sleep(0.05)  # long enough for the second process to start and take its share
    return ("here", i * i + 1)


def _share(work, n: int = 40) -> tuple[list, set[int]]:
    second = SecondProcess(_worker)
    try:
        return second.share(n, here=_slowly_here, there=lambda i: i, work=work, night=1)
    finally:
        second.close()


def test_chunks_come_back_in_order_from_both_ends():
    results, there = _share(_square)
    assert [r[1] for r in results] == [i * i + 1 for i in range(40)]
    # the second process took a run of chunks from the back, this one the rest from the front
    assert there and len(there) < 40
    assert there == set(range(40 - len(there), 40))
    assert all(r[0] == ("there" if i in there else "here") for i, r in enumerate(results))


def test_a_one_chunk_night_still_goes_to_the_second_process():
    results, there = _share(_square, n=1)
    assert results == [("there", 1)] and there == {0}


def test_a_second_process_that_dies_stops_the_night_saying_so():
    started = time.monotonic()
    with pytest.raises(SecondProcessFailed, match=r"exited with code 3; [12] chunk\(s\) of "
                                                  r"messages undecided, so the night stops"):
        _share(_die)
    assert time.monotonic() - started < 30  # it does not wait for this process's chunks


def test_an_error_in_the_second_process_is_reported_with_its_traceback():
    # chunks 39 and 38 were sent at once; 39 failed, 38 was never decided
    with pytest.raises(SecondProcessFailed, match=r"(?s)failed on chunk 39:.*ValueError: "
                                                  r"bad chunk 39; 2 chunk\(s\) of messages"):
        _share(_refuse)


SIGTERM_IGNORED = """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
from tests.test_second_process import _share, _square, _refuse
from pipelines.lib.outreach.second_process import SecondProcessFailed
assert [r[1] for r in _share(_square)[0]] == [i * i + 1 for i in range(40)]
try:
    _share(_refuse)
except SecondProcessFailed:
    print("stopped")
"""


def test_a_night_started_with_sigterm_ignored_neither_hangs_nor_leaves_a_child():
    done = subprocess.run([sys.executable, "-c", SIGTERM_IGNORED], capture_output=True,
                          text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"


PARENT_KILLED = """
import os, sys, time
from tests.test_second_process import _worker
from pipelines.lib.outreach.second_process import SecondProcess
second = SecondProcess(_worker)
print(second.proc.pid, flush=True)
os._exit(0)  # gone without a word: the child's pipe ends
"""


def test_a_second_process_ends_when_its_parent_is_gone():
    done = subprocess.run([sys.executable, "-c", PARENT_KILLED], capture_output=True,
                          text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
    child = int(done.stdout)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        status = open(f"/proc/{child}/status").read() if os.path.exists(
            f"/proc/{child}") else ""
        if "State:\tZ" in status:
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}") or "State:\tZ" in status


def test_a_chunk_that_cannot_be_sent_stops_the_night_instead_of_waiting_for_it():
    second = SecondProcess(_worker)
    try:
        with pytest.raises(SecondProcessFailed, match=r"(?s)failed on sending a chunk:.*"
                                                      r"ZeroDivisionError"):
            second.share(40, here=_slowly_here, there=lambda i: 1 / 0, work=_square, night=1)
    finally:
        second.close()
    assert second.proc.returncode is not None  # the child is gone


def test_rows_cross_to_the_second_process_with_every_value_and_type_kept():
    from datetime import date
    from decimal import Decimal

    from pipelines.lib.outreach.second_process import pack_rows, unpack_rows

    rows = {
        "L1": {"rate": Decimal("6.250"), "upb": Decimal("-0"), "odd": Decimal("1E+2"),
               "on": date(2026, 11, 27), "mixed": Decimal("1.5"), "n": 3},
        "L2": {"rate": None, "upb": Decimal("NaN"), "odd": Decimal("0.10"), "on": None,
               "mixed": "1.5", "n": None},
        "L3": {"other": Decimal("2")},  # a row with other columns
    }
    packed = pack_rows(rows)
    back = unpack_rows(pickle.loads(pickle.dumps(packed)))
    assert [list(r) for r in back.values()] == [list(r) for r in rows.values()]
    for key, row in rows.items():
        for name, value in row.items():
            got = back[key][name]
            assert type(got) is type(value) and str(got) == str(value), (key, name)
    # a Decimal column travels as its text; a column mixing Decimal and str as it is
    names, _, decimals, columns = packed[1][0]
    assert [names[j] for j in decimals] == ["rate", "upb", "odd"]
    assert columns[names.index("mixed")] == (Decimal("1.5"), "1.5")
    # a map whose values are not all dicts is sent as it is
    assert pack_rows({"B1": [("heloc", date(2026, 1, 1))]}) == ("as is", {"B1": [("heloc",
                                                                                date(2026, 1, 1))]})
