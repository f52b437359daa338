"""A bundle of a large dataset streams: export and import keep memory flat.

The dataset (about 200 MB of incompressible bytes) is made here; the export and the import
run in a fresh interpreter that reports its peak resident memory, which must stay far
below the data's size. On Linux the peak is ``VmHWM`` of ``/proc/self/status``: the
``getrusage`` figure carries the parent's peak across fork and exec (this test process,
which held the data, would be measured instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa

from dashai_store import datasets, open_store

MB = 1024 * 1024
BATCHES = 200  # of 1 MB each

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from dashai_store import bundles, open_store

    source, dest, out, dataset_id = sys.argv[1:]
    with open_store(source):
        exported = bundles.export_bundle(out, datasets=[int(dataset_id)])
    with open_store(dest):
        imported = bundles.import_bundle(out)
    try:
        status = open("/proc/self/status").read().split("VmHWM:")[1]
        peak_kb = int(status.split()[0])
    except (OSError, IndexError):
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    report = {"peak": peak_kb * 1024, "file_bytes": exported.file_bytes, "imported": imported.file_bytes}
    print(json.dumps(report))
    """
)


def write_big_arrow(path: Path) -> int:
    schema = pa.schema([("blob", pa.binary())])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for _ in range(BATCHES):
            writer.write_batch(pa.record_batch([pa.array([os.urandom(MB)])], schema=schema))
    return path.stat().st_size


def test_export_and_import_of_a_large_dataset_keep_memory_flat(tmp_path: Path) -> None:
    size = write_big_arrow(tmp_path / "big.arrow")
    with open_store(tmp_path / "source"):
        dataset_id = datasets.create("big", tmp_path / "big.arrow").id
    (tmp_path / "big.arrow").unlink()
    (tmp_path / "dest").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "source"),
            str(tmp_path / "dest"),
            str(tmp_path / "big.dashai"),
            str(dataset_id),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["file_bytes"] >= size and report["imported"] == report["file_bytes"]
    assert report["peak"] < size / 3, f"peak RSS {report['peak'] / MB:.0f} MB for {size / MB:.0f} MB of data"
