"""Training data from the feature definitions: point-in-time features for labelled examples.

:func:`backfill` takes an event history and labels ``(user_id, as_of_ms, any other columns)`` and
returns the labels, unchanged, with one value column and one status column per feature: the value
the lookup client (:mod:`userpulse.lookup.merge`) answers as of ``as_of_ms`` once every event of the
history
was counted -- window features by the tile rules of design section 4 (an event counts when its
event time falls in one of the window's tiles as of t: events after the end of t's tile never
count, events inside t's tile do, as in the lookup and :mod:`userpulse.reference`), profile
features from the events before the end of t's second, ``distinct_items`` as the KMV sketch
estimate. Late events count by event time. The embedded engine is numpy over Arrow columns
(docs/backfill.md says why, with the measurements); the same definitions run on a Flink cluster
through :mod:`userpulse.backfill.flink_job`. All times are UTC epoch milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from userpulse.backfill.columns import EventColumns, from_table
from userpulse.backfill.engine import STATUS_SUFFIX, Advance, feature_columns
from userpulse.backfill.errors import BackfillError
from userpulse.lookup.merge import validate
from userpulse.settings import Settings

USER_COLUMN = "user_id"
TIME_COLUMN = "as_of_ms"


@dataclass
class BackfillResult:
    """Output of :func:`backfill`.

    Attributes:
        table: the labels with ``<feature>`` and ``<feature>_status`` columns appended.
        events: events counted.
        rejected: events dropped as the job would dead-letter them, by reason.
        labels: labels answered.
        users_not_found: labels whose user has no counted event.
    """

    table: pa.Table
    events: int
    rejected: dict[str, int] = field(default_factory=dict)
    labels: int = 0
    users_not_found: int = 0


def feature_names(features: Sequence[str] | None) -> list[str]:
    """The features to compute, in catalogue order when None (all of them).

    Raises:
        BackfillError: an unknown name.
    """
    try:
        return validate(features)
    except ValueError as exc:
        raise BackfillError(str(exc)) from None


def label_keys(labels: pa.Table) -> tuple[pa.Array, np.ndarray]:
    """The user ids (as strings) and times (int64 UTC epoch ms) of a label table.

    Raises:
        BackfillError: a missing column, a null, or a time that is not an integer.
    """
    for c in (USER_COLUMN, TIME_COLUMN):
        if c not in labels.column_names:
            raise BackfillError(f"labels lack the column {c!r} (need {USER_COLUMN}, {TIME_COLUMN})")
    users = labels.column(USER_COLUMN).combine_chunks()
    times = labels.column(TIME_COLUMN).combine_chunks()
    if users.null_count or times.null_count:
        raise BackfillError(f"labels have nulls in {USER_COLUMN} or {TIME_COLUMN}")
    if not pa.types.is_integer(times.type):
        raise BackfillError(f"labels column {TIME_COLUMN} must hold integer UTC epoch ms")
    return pc.cast(users, pa.string()), np.asarray(times.cast(pa.int64()).to_numpy())


def backfill_columns(
    ev: EventColumns,
    labels: pa.Table,
    features: Sequence[str] | None = None,
    advance: Advance | None = None,
) -> BackfillResult:
    """:func:`backfill` on events already validated and sorted by :func:`columns.from_table`."""
    names = feature_names(features)
    clash = [c for n in names for c in (n, n + STATUS_SUFFIX) if c in labels.column_names]
    if clash:
        raise BackfillError(f"labels already have the columns {clash}")
    users, times = label_keys(labels)
    cols = feature_columns(ev, users, times, names, advance)
    table = labels
    for name, col in cols.items():
        table = table.append_column(name, col)
    missing = int(pc.sum(pc.equal(cols[names[0] + STATUS_SUFFIX], "not_found")).as_py() or 0)
    return BackfillResult(table, len(ev), dict(ev.rejected), labels.num_rows, missing)


def backfill(
    events: pa.Table,
    labels: pa.Table,
    features: Sequence[str] | None = None,
    *,
    now_ms: int | None = None,
    max_future_ms: int | None = None,
    advance: Advance | None = None,
) -> BackfillResult:
    """Point-in-time features of ``labels`` from the event history ``events``.

    Args:
        events: an event table (columns named like :class:`userpulse.events.Event` fields; see
            :mod:`userpulse.backfill.columns`), in any order.
        labels: a table with ``user_id`` (any type, compared as a string) and ``as_of_ms``
            (integer UTC epoch ms), plus any other columns, kept as they are.
        features: feature names (default: all of :data:`userpulse.features.FEATURE_NAMES`).
        now_ms: the run's clock for the sane-range rule, UTC epoch ms (default: now).
        max_future_ms: events more than this ahead of ``now_ms`` are rejected, as by the job, ms
            (default: the ``max_future_ms`` setting).
        advance: progress callback, called with the number of feature columns just finished.

    Raises:
        BackfillError: missing or unreadable columns, unknown features, label nulls.
    """
    clock = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    ahead = Settings().max_future_ms if max_future_ms is None else max_future_ms
    return backfill_columns(from_table(events, clock, ahead), labels, features, advance)


__all__ = [
    "BackfillError",
    "BackfillResult",
    "STATUS_SUFFIX",
    "backfill",
    "backfill_columns",
    "feature_names",
]
