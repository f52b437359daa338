"""Copying a whole store to another: ``dashai-store copy`` and :func:`copy_home`.

A desktop SQLite home moves to a team server (PostgreSQL plus a shared folder), or back
to a laptop, with every row's id and every file. Five modules, one job each:

* :mod:`.source` — the store copied from, opened so that nothing in it is ever written,
  read from one snapshot in batches;
* :mod:`.destination` — what the destination holds (read without writing), the one
  refusal of a destination that is not empty, and the marker that makes a copy resumable;
* :mod:`.file_copy` — the managed files: streamed through the atomic write, each checked
  against the source bytes and the checksum its row records; links reported, not followed;
* :mod:`.rows` — every table parents first, ids kept, through the destination backend's
  bulk insert; the id sequences moved past the source's;
* :mod:`.run` — :func:`copy_home`: marker, files, every row in one transaction, marker done.
"""

from __future__ import annotations

from .run import Progress, copy_home

__all__ = ["Progress", "copy_home"]
