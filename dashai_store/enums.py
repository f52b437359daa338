"""Enumerations stored as their member NAME in text columns (as DashAI's SQLAlchemy did).

The database holds a CHECK constraint for each, built from :func:`names`.
"""

from __future__ import annotations

import enum


class RunStatus(enum.Enum):
    """Status of every job-like row (dataset, run, prediction, converter, explorer, ...)."""

    NOT_STARTED = 0
    DELIVERED = 1
    STARTED = 2
    FINISHED = 3
    ERROR = 4


class SplitEnum(enum.Enum):
    """The data split a metric point was measured on; ``FULL`` is the whole dataset
    (DashAI's cross-validation and epoch callbacks). FULL came with migration 0002."""

    TRAIN = 0
    VALIDATION = 1
    TEST = 2
    FULL = 3


class LevelEnum(enum.Enum):
    """The granularity of a metric point. EPOCH, FOLD, OUTER_FOLD and LAST_OUTER (DashAI's
    epoch callbacks and (nested) cross-validation) came with migration 0002; the order is
    the order of the database's CHECK, which the drift check compares."""

    LAST = 0
    STEP = 1
    BATCH = 2
    TRIAL = 3
    EPOCH = 4
    FOLD = 5
    OUTER_FOLD = 6
    LAST_OUTER = 7


#: Levels holding one value per (run, split, name) whatever the step (DashAI upserts LAST;
#: LAST_OUTER is nested cross-validation's summary, one row per name too): a new point
#: replaces the stored one, step included.
SUMMARY_LEVELS: tuple[str, ...] = (LevelEnum.LAST.name, LevelEnum.LAST_OUTER.name)
#: The predicate of the partial unique index that keys them (``metric_summary_key``) and of
#: the upserts' conflict target, which must repeat it.
SUMMARY_PREDICATE = " OR ".join(f"level = '{name}'" for name in SUMMARY_LEVELS)


class PluginStatus(enum.Enum):
    REGISTERED = 0
    INSTALLED = 1
    ERROR = 2


class PluginTag(enum.Enum):
    DashAI = "DashAI"
    Package = "Package"
    Task = "Task"
    Model = "Model"
    Metric = "Metric"
    Dataloader = "Dataloader"
    Converter = "Converter"
    Explainer = "Explainer"


class DataType(enum.Enum):
    """Type of a generative process payload (``process_data.data_type``).

    ``str`` and ``image`` are the values DashAI already wrote; ``json`` and ``bytes`` are
    new. ``image`` and ``bytes`` payloads live in files; the row keeps the relative path.
    """

    str = "str"
    json = "json"
    image = "image"
    bytes = "bytes"


def names(enum_cls: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(member.name for member in enum_cls)


def coerce(enum_cls: type[enum.Enum], value: object) -> str:
    """Return the stored NAME for ``value`` (a member or its name), or raise ValidationError."""
    from .errors import ValidationError

    if isinstance(value, enum_cls):
        return value.name
    if isinstance(value, str) and value in enum_cls.__members__:
        return value
    raise ValidationError(
        f"{value!r} is not a valid {enum_cls.__name__}; expected one of {', '.join(names(enum_cls))}"
    )
