"""Steps: import the generated dataset; clean it in a notebook and save the result."""

from __future__ import annotations

from ..converters import CONVERTERS
from ..exceptions import DemoFailed
from ..figures import histogram_figure
from .state import Walk

__all__ = ["import_dataset", "notebook"]


def import_dataset(walk: Walk) -> None:
    """Import the generated table as a dataset; it must read back equal."""
    from ... import datasets

    record = datasets.create(f"{walk.prefix}customers", walk.table)
    loaded = datasets.load_table(record.id)
    if not loaded.equals(walk.table):
        raise DemoFailed(f"dataset {record.id} does not read back as written")
    walk.ids["dataset"] = record.id
    walk.facts.update(
        dataset_name=record.name, dataset_rows=loaded.num_rows, dataset_columns=loaded.num_columns
    )


def notebook(walk: Walk) -> None:
    """Converters (one undone), an explorer, and the result saved as a dataset with lineage."""
    from ... import explorers, notebooks

    nb = notebooks.create(walk.ids["dataset"], name=f"{walk.prefix}cleaning")
    walk.ids["notebook"] = nb.id
    notebooks.add_converter(nb.id, "DropColumn", {"column": "notes"})
    notebooks.add_converter(nb.id, "StandardScaler", {"column": "income"})
    # A filter that turns out too strict: it is applied, looked at, and undone.
    notebooks.add_converter(nb.id, "FilterRange", {"column": "age", "min": 60, "max": 90})
    done = notebooks.run_pending(nb.id, CONVERTERS)
    if [c.status.name for c in done] != ["FINISHED"] * 3:
        raise DemoFailed(f"notebook {nb.id}: converters ended {[c.status.name for c in done]}")
    too_strict = notebooks.load_table(nb.id).num_rows
    after_undo = notebooks.undo(nb.id)
    notebooks.add_converter(nb.id, "DropNulls", {"columns": ["income"]})
    (last,) = notebooks.run_pending(nb.id, CONVERTERS)
    if last.status.name != "FINISHED":
        raise DemoFailed(f"converter {last.id} ended {last.status.name}: {last.error}")
    current = notebooks.load_table(nb.id)
    income = current.column("income").to_pylist()
    explorer = explorers.create(nb.id, "Histogram", ["income"], {"bins": 24}, name="income histogram")
    explorers.deliver(explorer.id, job_id=f"demo-explorer-{explorer.id}")
    explorers.start(explorer.id)
    explorers.save_result(explorer.id, histogram_figure(income, "income"))
    explorers.finish(explorer.id)
    walk.ids["explorer"] = explorer.id
    saved = notebooks.save_as_dataset(nb.id, f"{walk.prefix}customers (clean)")
    walk.ids["saved_dataset"] = saved.id
    lineage = saved.lineage or {}
    walk.facts.update(
        converters=len(lineage.get("steps", [])),
        undone_filter_rows=too_strict,
        undo_to_step=after_undo.current_position,
        saved_dataset_name=saved.name,
        saved_rows=current.num_rows,
        saved_columns=current.column_names,
        lineage=lineage,
        income_mean_after=round(sum(income) / len(income), 12),
    )
