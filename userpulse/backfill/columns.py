"""Events as sorted columns: the input of the backfill engine.

An event table is an Arrow table whose columns are named like the fields of
:class:`userpulse.events.Event` (``event_id``, ``event_type``, ``user_id``, ``event_time_ms`` are
required; ``item_id``, ``dwell_ms``, ``scroll_depth``, ``scroll_px``, ... are optional and null when
absent). Times are UTC epoch milliseconds. Rows that the job would dead-letter (the rules of
:func:`userpulse.events.validation_error`, applied column-wise) are dropped and counted by reason;
the rest are sorted by ``(user, event_time_ms, event_id)`` -- the order the profile's last-k lists
use for ties.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from userpulse import sketch
from userpulse.backfill.errors import BackfillError
from userpulse.events import MAX_USER_ID_BYTES, MIN_EVENT_TIME_MS, Event, EventType
from userpulse.features import TILE_AGGREGATES

REQUIRED = ("event_id", "event_type", "user_id", "event_time_ms")
EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)
"""Event type codes of :attr:`EventColumns.etype`: the index in this tuple."""

_HINTS = typing.get_type_hints(Event)
_ARROW_TYPES = {int: pa.int64(), float: pa.float64(), str: pa.string()}


def arrow_type(name: str) -> pa.DataType:
    """Arrow type of the :class:`Event` field ``name`` (int64, float64 or string)."""
    hint = _HINTS[name]
    base = next(a for a in typing.get_args(hint) or (hint,) if a is not type(None))
    if isinstance(base, type) and issubclass(base, EventType):
        return pa.string()
    return _ARROW_TYPES[base]


EVENT_SCHEMA = pa.schema([(f.name, arrow_type(f.name)) for f in dataclasses.fields(Event)])
"""Schema of an event table with every :class:`Event` field."""


def events_table(events: Iterable[Event]) -> pa.Table:
    """An event table (:data:`EVENT_SCHEMA`) from :class:`Event` objects."""
    cols: dict[str, list[object]] = {f.name: [] for f in EVENT_SCHEMA}
    names = list(cols)
    for e in events:
        for n in names:
            v = getattr(e, n)
            cols[n].append(v.value if isinstance(v, EventType) else v)
    return pa.table({n: pa.array(cols[n], type=EVENT_SCHEMA.field(n).type) for n in names})


@dataclass
class EventColumns:
    """Counted events sorted by ``(user, event_time_ms, event_id)``, as numpy columns.

    Attributes:
        user_ids: user id of each user code (Arrow strings).
        user: user code per event (int64, non-decreasing).
        time_ms: event time per event, UTC epoch ms (int64).
        etype: index in :data:`EVENT_TYPES` per event (int8).
        values: per field named by the catalogue, (values, valid mask); int64 or float64 values.
        hashes: per ``distinct`` field, the 32-bit :func:`userpulse.sketch.value_hash` of the value
            (int64; -1 where null).
        item_id: the ``item_id`` column (Arrow strings, nullable), for the last-k lists.
        user_start: offsets of each user's events (length ``len(user_ids) + 1``).
        rejected: rows dropped as the job would dead-letter them, by reason.
    """

    user_ids: pa.Array
    user: np.ndarray
    time_ms: np.ndarray
    etype: np.ndarray
    values: dict[str, tuple[np.ndarray, np.ndarray]]
    hashes: dict[str, np.ndarray]
    item_id: pa.Array
    user_start: np.ndarray
    rejected: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.time_ms)


def _column(table: pa.Table, name: str) -> pa.Array:
    typ = arrow_type(name)
    if name not in table.column_names:
        return pa.nulls(table.num_rows, type=typ)
    col = table.column(name).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    try:
        return col.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BackfillError(f"events column {name!r}: cannot read {col.type} as {typ}") from exc


def _np(arr: pa.Array, fill: float | int) -> tuple[np.ndarray, np.ndarray]:
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(arr.fill_null(fill).to_numpy(zero_copy_only=False)), valid


def _rejections(
    table: pa.Table, now_ms: int, max_future_ms: int
) -> tuple[np.ndarray, dict[str, int]]:
    """Rows to keep and the rejected counts: :func:`userpulse.events.validation_error`'s rules."""
    uid_len = pc.binary_length(_column(table, "user_id").cast(pa.binary())).fill_null(0)
    t, t_ok = _np(_column(table, "event_time_ms"), 0)
    typ = _column(table, "event_type")
    dwell, dwell_ok = _np(_column(table, "dwell_ms"), 0)
    depth, depth_ok = _np(_column(table, "scroll_depth"), 0.0)
    px, px_ok = _np(_column(table, "scroll_px"), 0)
    is_hover = np.asarray(pc.equal(typ, EventType.HOVER.value).fill_null(False))
    is_scroll = np.asarray(pc.equal(typ, EventType.SCROLL.value).fill_null(False))
    known = np.asarray(pc.is_in(typ, value_set=pa.array([e.value for e in EVENT_TYPES])))
    uid = np.asarray(uid_len)
    with np.errstate(invalid="ignore"):
        bad_depth = depth_ok & ~((depth >= 0.0) & (depth <= 1.0))  # NaN fails both
    rules = [
        ("event_type unknown", ~known),
        ("user_id empty", uid == 0),
        ("user_id too long", uid > MAX_USER_ID_BYTES),
        ("event_time out of range", ~t_ok | (t < MIN_EVENT_TIME_MS) | (t > now_ms + max_future_ms)),
        ("dwell_ms invalid", is_hover & (~dwell_ok | (dwell < 0))),
        ("scroll_depth missing", is_scroll & ~depth_ok & ~px_ok),
        ("scroll_depth invalid", is_scroll & bad_depth),
        ("scroll_px invalid", is_scroll & px_ok & (px < 0)),
    ]
    keep = np.ones(table.num_rows, dtype=bool)
    rejected: dict[str, int] = {}
    for reason, bad in rules:  # first failing rule wins, as in validation_error
        hit = keep & bad
        if hit.any():
            rejected[reason] = int(hit.sum())
        keep &= ~bad
    return keep, rejected


def catalogue_fields() -> list[str]:
    """Event fields the catalogue aggregates (``TileAggregate.field``), in catalogue order."""
    return list(dict.fromkeys(a.field for a in TILE_AGGREGATES if a.field))


def from_table(table: pa.Table, now_ms: int, max_future_ms: int) -> EventColumns:
    """Validate, encode and sort an event table.

    Args:
        table: columns named like :class:`Event` fields (see the module docstring).
        now_ms: the run's clock, UTC epoch ms.
        max_future_ms: events more than this ahead of ``now_ms`` are rejected, ms (the job's
            sane range: the ``max_future_ms`` setting).

    Raises:
        BackfillError: a required column is missing or has an unreadable type.
    """
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise BackfillError(f"events lack the columns {missing} (need {list(REQUIRED)})")
    keep, rejected = _rejections(table, now_ms, max_future_ms)
    if not keep.all():
        table = table.filter(pa.array(keep))
    users = pc.dictionary_encode(_column(table, "user_id"))
    code = np.asarray(users.indices.cast(pa.int64()).to_numpy())
    order = _sort_order(code, np.asarray(_column(table, "event_time_ms").to_numpy()), table)
    used = ["event_type", "event_time_ms", "item_id", *catalogue_fields()]
    table = pa.table({c: _column(table, c) for c in dict.fromkeys(used)}).take(order)
    user = code[order]
    typ = _column(table, "event_type")
    etype = np.zeros(len(table), dtype=np.int8)
    for i, et in enumerate(EVENT_TYPES):
        etype[np.asarray(pc.equal(typ, et.value))] = i
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    hashes: dict[str, np.ndarray] = {}
    for name in catalogue_fields():
        col = _column(table, name)
        if any(a.field == name and a.kind == "distinct" for a in TILE_AGGREGATES):
            hashes[name] = _hashes(col)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            values[name] = _np(col, 0)
    n_users = len(users.dictionary)
    return EventColumns(
        user_ids=users.dictionary,
        user=user,
        time_ms=np.asarray(_column(table, "event_time_ms").to_numpy()),
        etype=etype,
        values=values,
        hashes=hashes,
        item_id=_column(table, "item_id"),
        user_start=np.searchsorted(user, np.arange(n_users + 1), side="left"),
        rejected=rejected,
    )


def _sort_order(code: np.ndarray, t: np.ndarray, table: pa.Table) -> np.ndarray:
    """Row order by ``(user, event_time_ms, event_id)``: numpy on the integers, then Arrow on
    ``event_id`` for the rows that tie on both (several events of one user in one ms)."""
    t_min = int(t.min()) if len(t) else 0
    span_bits = (int(t.max()) - t_min).bit_length() if len(t) else 0
    if span_bits + int(code.max(initial=0)).bit_length() <= 62:
        order = np.argsort((code << span_bits) | (t - t_min), kind="stable")
    else:
        order = np.lexsort((t, code))
    su, st = code[order], t[order]
    tie = (su[1:] == su[:-1]) & (st[1:] == st[:-1])
    if tie.any():
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        pos = np.flatnonzero(in_run)
        sub = pa.table(
            {
                "u": su[pos],
                "t": st[pos],
                "e": _column(table, "event_id").take(pa.array(order[pos])),
            }
        )
        keys = [("u", "ascending"), ("t", "ascending"), ("e", "ascending")]
        order[pos] = order[pos][np.asarray(pc.sort_indices(sub, sort_keys=keys))]
    return np.asarray(order)


def _hashes(col: pa.Array) -> np.ndarray:
    """:func:`userpulse.sketch.value_hash` of each value (hashed once per distinct value)."""
    enc = pc.dictionary_encode(col.cast(pa.string()))
    table = np.array([sketch.value_hash(v) for v in enc.dictionary.to_pylist()], dtype=np.int64)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    out = np.full(len(col), -1, dtype=np.int64)
    ok = idx >= 0
    out[ok] = table[idx[ok]]
    return out
