"""The demo's report: one self-contained HTML page (plotly.js inlined, no network needed).

:func:`write_report` renders a :class:`ReportData` (which :func:`read_report_data` fills
with what it reads back from the store) into ``report.html``:

* the run's metric curves (loss and accuracy per epoch, TRAIN and VALIDATION; div
  ``metric-curves``) and its LAST metrics;
* the generative session's parameter timeline: one step chart per numeric parameter over
  the snapshots, the processes marked at the snapshot each ran with (div
  ``parameter-timeline``), and a table of every snapshot's changes;
* the four optimisation plots as stored (``plot-history``, ``plot-slice``,
  ``plot-contour``, ``plot-importance``), the explorer's histogram, the explainers' plots;
* the generative processes with their payloads (the image inlined as a data: URI), the
  notebook's lineage, counts, timings, the check's verdict;
* the summary as JSON in ``<script type="application/json" id="demo-data">``.

plotly.js is written once, inline, by the first figure (``include_plotlyjs=True``); the
other figures reuse it. The page loads nothing from anywhere.

Modules: ``data`` (what the page shows), ``readback`` (reading it from the store),
``charts`` (the page's own figures), ``markup`` (HTML pieces), ``sections`` (one function
per section), ``page`` (the page assembled and written).
"""

from __future__ import annotations

from .data import ProcessView, ReportData
from .page import render_report, write_report
from .readback import read_report_data

__all__ = ["ProcessView", "ReportData", "read_report_data", "render_report", "write_report"]
