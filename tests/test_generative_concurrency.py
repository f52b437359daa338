"""Concurrent parameter updates never lose a change (threads and real processes, both backends).

Two writers each merge 50 distinct keys into one session. Under merge semantics a lost
update shows up as a snapshot that lacks a key its predecessor had, or as a final
parameter set without every key; a snapshot that mixes updates wrongly shows up as a
snapshot that differs from its predecessor by anything but exactly one new key.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from dashai_store import generative
from dashai_store.database import Store

UPDATES = 50
WORKERS = ("a", "b")
# SQLite's busy handler sleeps before retrying, so a writer that begins its next
# transaction at once keeps the lock for all its updates; a short pause between updates
# (an app does not hammer) lets the two writers really interleave.
PAUSE = 0.002


def check_trail(session_id: int, returned: dict[str, list[tuple[int, dict[str, Any]]]]) -> int:
    """Assert the history is a lossless chain; returns how often the writer alternated."""
    history = generative.parameter_history(session_id)
    assert len(history) == 1 + UPDATES * len(WORKERS)
    assert history[0].parameters == {"base": 0}
    for before, after in itertools.pairwise(history):
        assert set(after.parameters) > set(before.parameters), (before, after)
        (new_key,) = set(after.parameters) - set(before.parameters)
        assert after.parameters == {**before.parameters, new_key: int(new_key.split("-")[1])}
    expected = {"base": 0, **{f"{w}-{i}": i for w in WORKERS for i in range(UPDATES)}}
    assert generative.get_session(session_id).parameters == expected
    assert history[-1].parameters == expected

    # What each update returned is exactly the snapshot stored under that id.
    by_id = {h.id: h.parameters for h in history}
    for worker, snapshots in returned.items():
        assert len(snapshots) == UPDATES
        for i, (snapshot_id, params) in enumerate(snapshots):
            assert by_id[snapshot_id] == params
            assert params[f"{worker}-{i}"] == i
    writers = [next(iter(set(a.parameters) - set(b.parameters)))[0] for b, a in itertools.pairwise(history)]
    return sum(1 for x, y in itertools.pairwise(writers) if x != y)


def test_two_threads_never_lose_an_update(store: Store) -> None:
    session = generative.create_session("race", "TextToText", "m", {"base": 0})
    returned: dict[str, list[tuple[int, dict[str, Any]]]] = {w: [] for w in WORKERS}
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(WORKERS))

    def work(worker: str) -> None:
        try:
            generative.get_session(session.id)  # connect before the race starts
            barrier.wait()
            for i in range(UPDATES):
                snapshot = generative.update_parameters(session.id, {f"{worker}-{i}": i})
                returned[worker].append((snapshot.id, snapshot.parameters))
                time.sleep(PAUSE)
        except BaseException as exc:
            failures.append(exc)
        finally:
            store.db.close()  # this thread's connection

    threads = [threading.Thread(target=work, args=(w,)) for w in WORKERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    # The writers really raced (not one after the other), or the test proves nothing.
    assert check_trail(session.id, returned) >= 2


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from dashai_store import generative, open_store

    home, url, session_id, worker, updates, pause = sys.argv[1:7]
    with open_store(home, database=url or None, migrate=False):
        generative.get_session(int(session_id))  # connected and ready
        print("ready", flush=True)
        sys.stdin.readline()  # wait until both workers are ready
        out = []
        for i in range(int(updates)):
            snapshot = generative.update_parameters(int(session_id), {f"{worker}-{i}": i})
            out.append((snapshot.id, snapshot.parameters))
            time.sleep(float(pause))
        print(json.dumps(out), flush=True)
    """
)


def test_two_processes_never_lose_an_update(store: Store, home: Path, database_url: str | None) -> None:
    session = generative.create_session("race", "TextToText", "m", {"base": 0})
    procs = {
        w: subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(home),
                database_url or "",
                str(session.id),
                w,
                str(UPDATES),
                str(PAUSE),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in WORKERS
    }
    try:
        for proc in procs.values():
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
        for proc in procs.values():  # release both at once
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        returned: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for w, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            returned[w] = [(sid, params) for sid, params in json.loads(out.strip().splitlines()[-1])]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # The writers really raced (not one after the other), or the test proves nothing.
    assert check_trail(session.id, returned) >= 2
