"""The main job, ``dashai-store demo``: the whole product, end to end, on data it generates.

    $ dashai-store demo                     # a fresh ./dashai-demo under the current folder
    $ dashai-store demo --home /tmp/d --json

One walkthrough, deterministic (fixed seed, no network), in a few seconds:

1. migrate a new store (SQLite ``<home>/db.sqlite``, or ``--database postgresql://...``);
2. import a generated dataset (500 customers: numeric, dictionary-encoded categorical,
   free-text and label columns, some missing values) from a ``pyarrow.Table``;
3. a notebook: drop a column, standardise one with ``pyarrow.compute``, a row filter that
   is undone, another filter, an explorer (a histogram); saved as a new dataset that
   records its lineage;
4. a model session on the saved dataset and a run: a hyperparameter search (TRIAL
   metrics) and the training of a pure-Python logistic regression (STEP metrics per epoch
   for TRAIN and VALIDATION, then LAST metrics), the four optimisation plots (history,
   slice, contour, importance) as Plotly figures, the model saved with joblib and loaded
   back (same predictions);
5. a prediction over the saved dataset, stored as an Arrow table;
6. a generative session: parameter updates (one a no-op), a restore, and three processes
   with text inputs and outputs, one of them also an image (a PNG written here with
   ``zlib`` and ``struct``);
7. a plugin with tags (re-registered: stale tags go), upgraded;
8. a global explainer (permutation importance and its plot) and a local one;
9. ``maintenance.check(grace_s=0)``: every row's file present, no file unowned;

then writes ``<home>/report.html`` (self-contained: plotly.js is inlined) with the run's
metric curves and the generative session's parameter timeline, read back from the store.

The home: ``--home DIR`` or ``./dashai-demo``; ``~/.DashAI`` is never used unless given.
A folder that does not exist or is empty is used; so is an earlier demo home (it holds
``dashai-demo.json``), which gets one more walkthrough with numbered names. Any other
non-empty folder is refused (:class:`DemoHomeRefused`) and left untouched.

Where things are: ``home`` (which folder, the marker), ``data`` (the generated customers),
``model`` (the logistic regression), ``generator`` and ``png`` (the generative stand-in),
``converters`` and ``figures`` (what the notebook and the run use and store),
``walkthrough`` (one module per area of the product), ``check``, ``report`` (the HTML
page, one function per section), ``summary`` (what the command prints), ``runner``
(:func:`run`, all of it in order). Importing this package imports no heavy library.
"""

from __future__ import annotations

from .data import ROWS, SEED, make_customers
from .exceptions import DemoFailed, DemoHomeRefused
from .home import DEFAULT_HOME_NAME, MARKER, choose_home
from .model import ChurnModel
from .png import png_bytes
from .progress import Progress, stderr_progress
from .runner import REPORT_NAME, run
from .summary import DemoSummary, summary_document, summary_lines

__all__ = [
    "DEFAULT_HOME_NAME",
    "MARKER",
    "REPORT_NAME",
    "ROWS",
    "SEED",
    "ChurnModel",
    "DemoFailed",
    "DemoHomeRefused",
    "DemoSummary",
    "Progress",
    "choose_home",
    "make_customers",
    "png_bytes",
    "run",
    "stderr_progress",
    "summary_document",
    "summary_lines",
]
