"""Which rows a bundle takes, read from the models' foreign keys (no list kept per table).

A piece (a dataset, model session, run, notebook or generative session) takes:

* its root row and every row the database would cascade-delete with it (a run's metrics,
  predictions and explainers; a notebook's converters and explorers; a generative
  session's parameter history, processes and payloads) — except a dataset, whose
  cascade is the other work built on it, not part of it;
* then every parent any taken row refers to, up the foreign keys (a run's model session
  and dataset, a prediction's input dataset), without their other children.

Tables are visited parents first (:data:`ORDER`, a topological sort of the foreign keys),
which is also the order an import inserts them in. Rows of tables nothing refers to
(leaves: metric, prediction, explainers, ...) are never gathered as id sets: they are
selected by their parent's ids when written, so a run with a million metrics costs no
million-element set.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from peewee import Field, ForeignKeyField

from .. import models

Model = type[models.BaseModel]

#: The tables a bundle carries: the domain's; the store's bookkeeping never travels.
BUNDLED: tuple[Model, ...] = models.DOMAIN_MODELS

#: Pieces by the name the facade and the command line use.
PIECES: dict[str, Model] = {
    "datasets": models.Dataset,
    "model_sessions": models.ModelSession,
    "runs": models.Run,
    "notebooks": models.Notebook,
    "generative_sessions": models.GenerativeSession,
}

#: Pieces that take only their own row (and parents): a dataset's cascade is other work.
ROW_ONLY: frozenset[Model] = frozenset({models.Dataset})

CHUNK = 500  # ids per IN (...) list


@functools.cache
def parent_keys(model: Model) -> tuple[ForeignKeyField, ...]:
    return tuple(f for f in model._meta.sorted_fields if isinstance(f, ForeignKeyField))


def child_keys(model: Model) -> list[ForeignKeyField]:
    """The foreign keys of other tables that point at ``model`` and cascade."""
    return [fk for fk in model._meta.backrefs if fk.on_delete == "CASCADE" and fk.model in BUNDLED]


def is_leaf(model: Model) -> bool:
    """Whether no bundled table refers to ``model``."""
    return not any(fk.model in BUNDLED for fk in model._meta.backrefs)


def _topological(tables: tuple[Model, ...]) -> tuple[Model, ...]:
    done: list[Model] = []

    def visit(model: Model, path: tuple[Model, ...]) -> None:
        if model in done:
            return
        if model in path:
            raise AssertionError(f"foreign-key cycle through {model._meta.table_name}")
        for fk in parent_keys(model):
            visit(fk.rel_model, (*path, model))
        done.append(model)

    for model in tables:
        visit(model, ())
    return tuple(done)


ORDER: tuple[Model, ...] = _topological(BUNDLED)
BY_TABLE: dict[str, Model] = {m._meta.table_name: m for m in ORDER}


def chunks(ids: set[int] | list[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


@dataclass
class Selection:
    """The rows a bundle takes: id sets for tables others refer to, and for leaves the
    (foreign key, parent ids) pairs that select them; ``everything`` takes every row."""

    everything: bool = False
    ids: dict[Model, set[int]] = field(default_factory=dict)
    leaves: dict[Model, list[tuple[ForeignKeyField, frozenset[int]]]] = field(default_factory=dict)

    def queries(self, model: Model, fields: Sequence[Field]) -> Iterator[Any]:
        """SELECTs of ``fields`` that together yield each taken row of ``model`` once, by id."""
        if self.everything:
            yield model.select(*fields).order_by(model.id)
            return
        if not is_leaf(model):
            for chunk in chunks(self.ids.get(model, set())):
                yield model.select(*fields).where(model.id.in_(chunk)).order_by(model.id)
            return
        seen_keys: list[tuple[ForeignKeyField, list[int]]] = []
        for fk, parents in self.leaves.get(model, []):
            for chunk in chunks(set(parents)):
                query = model.select(*fields).where(fk.in_(chunk))
                for earlier_fk, earlier in seen_keys:  # taken already through another key
                    query = query.where(~earlier_fk.in_(earlier) | earlier_fk.is_null())
                yield query.order_by(model.id)
                seen_keys.append((fk, chunk))


def select(roots: dict[Model, set[int]], everything: bool = False) -> Selection:
    """The rows ``roots`` (ids per piece table) take, parents included (see the module)."""
    if everything:
        return Selection(everything=True)
    selection = Selection(ids={model: set(ids) for model, ids in roots.items()})
    # 1. each root's cascade (not a dataset's): tables others refer to by id, leaves by key.
    stack = [(model, set(ids)) for model, ids in roots.items() if model not in ROW_ONLY and ids]
    while stack:
        model, ids = stack.pop()
        for fk in child_keys(model):
            child = fk.model
            if is_leaf(child):
                selection.leaves.setdefault(child, []).append((fk, frozenset(ids)))
                continue
            found: set[int] = set()
            for chunk in chunks(ids):
                found.update(r[0] for r in child.select(child.id).where(fk.in_(chunk)).tuples())
            new = found - selection.ids.get(child, set())
            if new:
                selection.ids.setdefault(child, set()).update(new)
                stack.append((child, new))
    # 2. every parent of every taken row, up the keys, until nothing new turns up.
    changed = True
    while changed:
        changed = False
        for model in reversed(ORDER):  # children first: their parents are visited after them
            for fk in parent_keys(model):
                wanted = _referenced(selection, model, fk) - selection.ids.get(fk.rel_model, set())
                if wanted:
                    selection.ids.setdefault(fk.rel_model, set()).update(wanted)
                    changed = True
    return selection


def _referenced(selection: Selection, model: Model, fk: ForeignKeyField) -> set[int]:
    """The parent ids ``fk`` holds among the taken rows of ``model``."""
    found: set[int] = set()
    if is_leaf(model):
        for key, parents in selection.leaves.get(model, []):
            if key is fk:
                continue  # its values are the parents it was selected by
            for chunk in chunks(set(parents)):
                query = model.select(fk).where(key.in_(chunk) & fk.is_null(False)).distinct()
                found.update(int(r[0]) for r in query.tuples().iterator())
        return found
    for chunk in chunks(selection.ids.get(model, set())):
        query = model.select(fk).where(model.id.in_(chunk) & fk.is_null(False)).distinct()
        found.update(int(r[0]) for r in query.tuples().iterator())
    return found
