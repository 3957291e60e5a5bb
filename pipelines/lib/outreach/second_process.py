"""A second process for a big night's messages: a fresh Python that decides the chunks it is sent.

Not a fork: a forked child starts with every page of the night's process (Dagster, what ingest,
validation and dbt left, the night's state), and a sum of RSS over the processes counts them
twice (at 1,000,000 loans, 2.4 GiB). A fresh process holds only its imports, the night's
constants and the chunk it works on. The two processes take chunks from either end of the
night's list, so neither waits on the other however the machine's load falls.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

# A chunk's rows travel pickled; how far ahead of the second process the feeder runs.
IN_FLIGHT = 2
_CHILD = ("import sys; from pipelines.lib.outreach.second_process import serve; "
          "serve(int(sys.argv[1]), int(sys.argv[2]))")


_NONE = type(None)


def pack_rows(rows: dict) -> tuple[str, Any]:
    """A map of rows (dicts) as columns, a Decimal column as its text: pickle saves a Decimal
    ten times slower than its text, and a chunk's loans and features hold ~15 a row."""
    if not all(type(r) is dict for r in rows.values()):
        return "as is", rows
    groups: dict[tuple, list] = {}
    for key, row in rows.items():
        groups.setdefault(tuple(row), []).append((key, tuple(row.values())))
    packed = []
    for names, items in groups.items():
        keys, values = zip(*items, strict=True)
        columns = list(zip(*values, strict=True))
        decimals = []
        for j, column in enumerate(columns):
            types = set(map(type, column))
            if Decimal in types and types <= {Decimal, _NONE}:
                decimals.append(j)
                columns[j] = tuple(None if v is None else str(v) for v in column)
        packed.append((names, keys, decimals, columns))
    return "packed", packed


def unpack_rows(packed: tuple[str, Any]) -> dict:
    """The rows pack_rows packed, as they were."""
    how, rows = packed
    if how == "as is":
        return rows
    out = {}
    for names, keys, decimals, columns in rows:
        columns = list(columns)
        for j in decimals:
            columns[j] = [None if v is None else Decimal(v) for v in columns[j]]
        for key, values in zip(keys, zip(*columns, strict=True), strict=True):
            out[key] = dict(zip(names, values, strict=True))
    return out


class SecondProcessFailed(RuntimeError):
    """The second process died or raised: the night stops, nothing is recorded or sent."""


class SecondProcess:
    """A started second process. `build` makes its worker in the fresh process (a module-level
    function, pickled by name); `share` then sends it the night's constants and chunks."""

    def __init__(self, build: Callable[[], Any]) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # The child imports what this process imported, from the same places.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._out = Connection(to_child_w, readable=False)
        self._in = Connection(from_child_r, writable=False)
        self._threads: list[threading.Thread] = []
        self._send(build)

    def _send(self, obj: Any) -> None:
        self._out.send_bytes(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))

    def share(self, n: int, here: Callable[[int], Any], there: Callable[[int], Any],
              work: Callable[[Any, Any, Any], list], night: Any) -> tuple[list, set[int]]:
        """Chunks 0..n-1: this process takes them from the front (`here(i)`), the second from
        the back (`work(worker, night, there(i))` over there). The results, in chunk order,
        and the indices of the chunks decided over there."""
        results: list[Any] = [None] * n
        front, back = [0], [n]
        lock = threading.Lock()
        tokens = threading.Semaphore(IN_FLIGHT)
        sent: set[int] = set()
        received: set[int] = set()
        failure: list[str] = []
        stop = threading.Event()

        def take_back() -> int | None:
            with lock:
                if front[0] >= back[0]:
                    return None
                back[0] -= 1
                sent.add(back[0])
                return back[0]

        def take_front() -> int | None:
            with lock:
                if front[0] >= back[0]:
                    return None
                front[0] += 1
                return front[0] - 1

        # Claimed before either starts, so that the second process decides at least one chunk
        # however small the night (and however slowly it starts).
        first = [take_back() for _ in range(min(IN_FLIGHT, max(1, n // 2)))]

        def feed() -> None:
            try:
                self._send((work, night))
                while tokens.acquire() and not stop.is_set():
                    i = first.pop(0) if first else take_back()
                    if i is None:
                        break
                    self._send((i, there(i)))
                self._send(None)  # no more: the child exits
            except OSError:
                pass  # the child is gone; receive() says why
            except Exception:  # noqa: BLE001 - a chunk could not be sent: stop the child
                failure.append(f"sending a chunk: {traceback.format_exc()}")
                self.proc.kill()

        def receive() -> None:
            try:
                while True:
                    message = pickle.loads(self._in.recv_bytes())
                    if message[0] == "failed":
                        failure.append(message[1])
                        break
                    i, outcomes = message
                    results[i] = outcomes
                    received.add(i)
                    tokens.release()
            except (EOFError, OSError):
                pass
            except Exception:  # noqa: BLE001 - an answer could not be read: stop the child
                failure.append(f"reading an answer: {traceback.format_exc()}")
                self.proc.kill()
            finally:
                stop.set()
                tokens.release()  # wake the feeder to see the stop

        self._threads = [threading.Thread(target=feed, daemon=True),
                         threading.Thread(target=receive, daemon=True)]
        for t in self._threads:
            t.start()
        try:
            while not (stop.is_set() and (failure or sent - received)):
                i = take_front()
                if i is None:
                    break
                results[i] = here(i)
            for t in self._threads:
                t.join()
            code = self.proc.wait()
        except BaseException:
            self.close()
            raise
        self._close_pipes()
        if failure or sent - received or code != 0:
            raise SecondProcessFailed(
                f"the second renderer process (pid {self.proc.pid}) "
                + (f"failed on {failure[0].rstrip()}" if failure else f"exited with code {code}")
                + f"; {len(sent - received)} chunk(s) of messages undecided, so the night "
                  "stops")
        return results, sent

    def _close_pipes(self) -> None:
        for c in (self._out, self._in):
            if not c.closed:
                c.close()

    def close(self) -> None:
        """Ends the child if it still runs. SIGKILL, not SIGTERM: a night started with SIGTERM
        ignored passes that on to its children."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for t in self._threads:  # they end once the child's pipe ends are closed
            t.join()
        self._close_pipes()


def serve(read_fd: int, write_fd: int) -> None:
    """The child: build the worker, then decide each chunk sent until told there are no more
    (or this process's parent has gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.disable()  # as in the parent: long-lived rows, few cycles
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    i = None
    try:
        worker = pickle.loads(inbox.recv_bytes())()
        work, night = pickle.loads(inbox.recv_bytes())
        while (message := pickle.loads(inbox.recv_bytes())) is not None:
            i, job = message
            outcomes = work(worker, night, job)
            outbox.send_bytes(pickle.dumps((i, outcomes), pickle.HIGHEST_PROTOCOL))
    except EOFError:
        return  # the parent stopped the night
    except Exception:  # noqa: BLE001 - the parent says what failed, then stops the night
        outbox.send_bytes(pickle.dumps(("failed", f"chunk {i}: {traceback.format_exc()}")))
        sys.exit(1)
