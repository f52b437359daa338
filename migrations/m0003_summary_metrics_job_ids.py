"""0003: one LAST value per (run, split, name), and job ids found through an index.


**One summary value.** DashAI upserts a LAST metric by (run, split, level, name): the row's
value and step are replaced, whatever the step. Until now the store's only unique key was
(run, split, level, name, step), so two LAST points at different steps left two rows. This
step adds the partial unique index ``metric_summary_key`` on (run_id, split, level, name)
for the summary levels LAST and LAST_OUTER (the nested cross-validation's summary, one row
per name too), which :mod:`dashai_store.metrics` upserts on.

A store written before this step may hold several LAST (or LAST_OUTER) rows of one
(run, split, name). The index cannot be built over them, so the superseded ones are
deleted first: for each key the row with the highest step is kept (steps are unique per
key under the old unique index), which is the value ``metrics.latest`` already showed.
The rows deleted are only ones no summary read returned; the runner's backup taken
before this step (SQLite; ``pg_dump`` on PostgreSQL) keeps them. Measured on a metric
table of 1M rows, a quarter of them LAST rows of 15 keys (so nearly all deleted): 0.8 s
on SQLite (``tests/test_m0002.py::test_m0002_on_a_million_metric_rows_edits_the_schema_in_place``).

**Job ids.** A worker finds its row by the job queue's id (DashAI's
``find_entity_by_huey_id``); ``huey_id`` of every job table gets a plain index so that
lookup is one index probe per table, not a scan.

Frozen: the SQL is written out here, never derived from ``dashai_store.models``. The same
statements run on SQLite and PostgreSQL (both support partial indexes).
"""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator

ID = "0003_summary_metrics_job_ids"

SUMMARY_PREDICATE = "level = 'LAST' OR level = 'LAST_OUTER'"

JOB_TABLES = (
    "dataset",
    "run",
    "prediction",
    "converter",
    "explorer",
    "generative_process",
    "global_explainer",
    "local_explainer",
)

# Steps are unique per key already (the unique index on (run_id, split, level, name, step)),
# so "a row of the key at a higher step" decides alone, and is one range probe of that
# index per summary row. (Spelling out a tie-break on id as well, with an OR, made SQLite
# scan the whole key for each row: 274 s instead of seconds on a million metric rows.)
DELETE_SUPERSEDED = (
    f"DELETE FROM metric WHERE ({SUMMARY_PREDICATE}) AND EXISTS ("
    "SELECT 1 FROM metric AS newer WHERE newer.run_id = metric.run_id"
    " AND newer.split = metric.split AND newer.level = metric.level AND newer.name = metric.name"
    " AND newer.step > metric.step)"
)

CREATE_SUMMARY_KEY = (
    'CREATE UNIQUE INDEX "metric_summary_key" ON "metric" ("run_id", "split", "level", "name") '
    f"WHERE {SUMMARY_PREDICATE}"
)


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql(DELETE_SUPERSEDED)
    db.execute_sql(CREATE_SUMMARY_KEY)
    for table in JOB_TABLES:
        db.execute_sql(f'CREATE INDEX "{table}_huey_id" ON "{table}" ("huey_id")')
