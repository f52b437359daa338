"""Issue 14, class 9: ``check`` on a healthy live store is ok while another process deletes rows.

Before: 2-10 of 10 runs reported problems (exit code 1): a pending deletion the deleting
process was about to finish, a row read just before its file moved to the trash (a
"missing" file), a file walked just before its row was deleted (an "unowned" one). In-flight
work is now reported apart (``in_flight_deletions``) and never makes ``ok`` False.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from dashai_store import datasets, maintenance, open_store

REPO = Path(__file__).resolve().parents[1]
ROWS = 150

_DELETER = """
import sys, time
from dashai_store import datasets, open_store
home, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open_store(home):
    print("ready", flush=True)
    for dataset_id in range(first, last + 1):
        datasets.delete(dataset_id)
        time.sleep(0.002)
"""


def test_check_of_a_live_store_is_ok_while_another_process_deletes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with open_store(home):
        ids = [datasets.create(f"d{i}", pa.table({"x": [i, i + 1]})).id for i in range(ROWS)]
    old = time.time() - 7200  # older than check's grace: an unowned one would be judged
    for folder, dirs, names in os.walk(home / "datasets"):
        for name in dirs + names:
            os.utime(Path(folder) / name, (old, old))
    deleter = subprocess.Popen(
        [sys.executable, "-c", _DELETER, str(home), str(ids[0]), str(ids[-1])],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert deleter.stdout is not None and deleter.stdout.readline().strip() == "ready"
    runs, in_flight, failures = 0, 0, []
    with open_store(home, migrate=False, finish_deletions=False):
        while deleter.poll() is None or runs < 3:
            report = maintenance.check()
            runs += 1
            in_flight += len(report.in_flight_deletions)
            if not report.ok:
                failures.append(report)
            if runs >= 10:
                break
    deleter.wait(60)
    assert runs >= 3
    assert failures == [], failures[0]
    print(f"live check: {runs} runs, {in_flight} deletion(s) seen in flight")
