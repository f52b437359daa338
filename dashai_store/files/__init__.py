"""The file store: the one place files under the home are written, read and deleted.

Four modules, each with one job (the facade calls the names re-exported here):

* :mod:`.layout` — every folder and file name of the home, as pure functions of row ids;
* :mod:`.io` — plain I/O on absolute paths: atomic writes (temporary name, fsync, rename,
  fsync of the folder), checksums, Arrow, joblib, Plotly JSON; no store, no database;
* :mod:`.access` — the open store's files by home-relative path (``resolve`` keeps every
  path inside the home: :class:`~dashai_store.errors.UnsafePath`);
* :mod:`.tx` — files that follow the write transaction: deleted after COMMIT (recorded,
  finished after a crash), discarded on rollback, the trash thread, staged replacement.

Rules kept here and nowhere else: names given by users never become path components
(folders are named by row ids); a reader never sees half a file; a joblib/pickle file is
loaded only from inside the home and only when its sha256 matches the recorded one; a
file is deleted only after the transaction that deleted its row commits; deleting, moving
and trashing never follow a symbolic link and only ever remove a path inside a row's own
layout folder (:func:`.layout.row_folder_of`).
"""

from __future__ import annotations

from . import access, io, layout, tx
from .access import (
    atomic_writer,
    dump_joblib,
    home,
    link_atomic,
    load_joblib,
    read_arrow,
    read_arrow_schema,
    read_bytes,
    read_figure,
    read_json,
    relative,
    resolve,
    to_absolute,
    write_arrow,
    write_bytes,
    write_figure,
)
from .io import CHUNK, figure_json, fsync_dir, sha256_file
from .layout import TRASH
from .tx import (
    delete_after_commit,
    discard_on_rollback,
    empty_trash_soon,
    finish_pending_deletions,
    pending_deletions,
    promote_staged,
    repoint_column,
    save_joblib_staged,
    save_staged,
    wait_for_trash,
)

__all__ = [
    "CHUNK",
    "TRASH",
    "access",
    "atomic_writer",
    "delete_after_commit",
    "discard_on_rollback",
    "dump_joblib",
    "empty_trash_soon",
    "figure_json",
    "finish_pending_deletions",
    "fsync_dir",
    "home",
    "io",
    "layout",
    "link_atomic",
    "load_joblib",
    "pending_deletions",
    "promote_staged",
    "read_arrow",
    "read_arrow_schema",
    "read_bytes",
    "read_figure",
    "read_json",
    "relative",
    "repoint_column",
    "resolve",
    "save_joblib_staged",
    "save_staged",
    "sha256_file",
    "to_absolute",
    "tx",
    "wait_for_trash",
    "write_arrow",
    "write_bytes",
    "write_figure",
]
