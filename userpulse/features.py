"""Feature definitions: the one place that declares windows, tile aggregates and features.

Everything else derives from the tuples below: the job folds events into the tile aggregates,
the Redis writer and layout encode them, the lookup merges them into window features, the
reference implementation computes the same names from raw events, and ``docs/features.md`` is
generated from them (``userpulse features docs``). Adding a window is one line in
:data:`WINDOWS`; adding a per-tile aggregation is one line in :data:`TILE_AGGREGATES` (or
:data:`DERIVED` for a ratio of two of them). Names follow design section 4:
``{aggregation}_{event}_{window}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from userpulse.events import EventType

AggKind = Literal["count", "sum", "max", "distinct"]
DerivedKind = Literal["mean", "ratio"]
StateKind = Literal[
    "lifetime_count",
    "first_seen",
    "last_seen",
    "last_k",
    "session_start",
    "session_events",
    "session_duration",
]

LAST_K = 20
"""Length of the last-k item lists (newest first)."""
SESSION_GAP_MS = 30 * 60_000
"""Session inactivity gap: events less than 30 min apart belong to one session."""
AS_OF_RESOLUTION_MS = 1_000
"""Non-window features as of t count the events before the end of the second containing t."""
LAST_SEEN_RESOLUTION_MS = AS_OF_RESOLUTION_MS
DISTINCT_SKETCH_K = 256
"""KMV sketch size of ``distinct_items``: exact below this many items, ~1/sqrt(k-2) beyond."""


@dataclass(frozen=True)
class Window:
    """A sliding window evaluated as of lookup time, built from tiles.

    Attributes:
        name: suffix in feature names (``1m``).
        window_ms: window length W in ms.
        tile_ms: tile size g in ms; must divide ``window_ms``.
    """

    name: str
    window_ms: int
    tile_ms: int

    def __post_init__(self) -> None:
        if self.window_ms % self.tile_ms:
            raise ValueError(
                f"window {self.name}: tile_ms {self.tile_ms} does not divide {self.window_ms}"
            )

    @property
    def tiles(self) -> int:
        """Number of tiles in the window (W / g)."""
        return self.window_ms // self.tile_ms


@dataclass(frozen=True)
class TileAggregate:
    """A partial aggregate kept per tile and merged across tiles at lookup time.

    Attributes:
        name: ``{aggregation}_{event}`` prefix of the feature name, e.g. ``sum_dwell_hover``.
        event_type: events that feed it (None: every type).
        kind: ``count`` / ``sum`` (merge: add), ``max`` (merge: max; empty = None),
            ``distinct`` (a KMV sketch of ``field`` values; merge: union).
        field: Event attribute aggregated (None for counts); events where it is None are skipped.
        unit: unit of the value, for the docs.
        meaning: one line for the docs.
    """

    name: str
    event_type: EventType | None
    kind: AggKind
    field: str | None
    unit: str
    meaning: str


@dataclass(frozen=True)
class Derived:
    """A window feature computed from two merged tile aggregates: ``numerator / denominator``.

    Attributes:
        name: feature name prefix, e.g. ``mean_dwell_hover``.
        kind: ``mean`` or ``ratio`` (both a division; None when the denominator is 0).
        numerator, denominator: names of entries of :data:`TILE_AGGREGATES`.
        unit, meaning: for the docs.
    """

    name: str
    kind: DerivedKind
    numerator: str
    denominator: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class StateFeature:
    """A feature that is not windowed: kept per user in the profile record.

    Attributes:
        name: feature name.
        kind: what it is (see :data:`StateKind`).
        event_type: events that feed it (None: every type).
        unit, meaning: for the docs.
    """

    name: str
    kind: StateKind
    event_type: EventType | None
    unit: str
    meaning: str


WINDOWS: tuple[Window, ...] = (
    Window("1m", 60_000, 1_000),
    Window("5m", 300_000, 5_000),
    Window("1h", 3_600_000, 60_000),
    Window("24h", 86_400_000, 1_440_000),
)

_C, _S, _H = EventType.CLICK, EventType.SCROLL, EventType.HOVER
TILE_AGGREGATES: tuple[TileAggregate, ...] = (
    TileAggregate("count_click", _C, "count", None, "events", "clicks"),
    TileAggregate("count_scroll", _S, "count", None, "events", "scrolls"),
    TileAggregate("count_hover", _H, "count", None, "events", "hovers"),
    TileAggregate("sum_dwell_hover", _H, "sum", "dwell_ms", "ms", "total hover dwell"),
    TileAggregate("max_dwell_hover", _H, "max", "dwell_ms", "ms", "longest hover (null: none)"),
    TileAggregate(
        "max_depth_scroll",
        _S,
        "max",
        "scroll_depth",
        "fraction 0..1",
        "deepest scroll (null: none)",
    ),
    TileAggregate(
        "distinct_items",
        None,
        "distinct",
        "item_id",
        "items",
        f"distinct item ids, any event type (KMV sketch: exact below {DISTINCT_SKETCH_K})",
    ),
)

DERIVED: tuple[Derived, ...] = (
    Derived(
        "mean_dwell_hover",
        "mean",
        "sum_dwell_hover",
        "count_hover",
        "ms",
        "mean hover dwell (null: no hover)",
    ),
    Derived(
        "ctr_click_hover",
        "ratio",
        "count_click",
        "count_hover",
        "clicks per hover",
        "click-through proxy: clicks / hovers (null: no hover)",
    ),
)

STATE_FEATURES: tuple[StateFeature, ...] = (
    StateFeature("count_click_lifetime", "lifetime_count", _C, "events", "clicks ever"),
    StateFeature("count_scroll_lifetime", "lifetime_count", _S, "events", "scrolls ever"),
    StateFeature("count_hover_lifetime", "lifetime_count", _H, "events", "hovers ever"),
    StateFeature("first_seen", "first_seen", None, "UTC epoch ms", "oldest event time"),
    StateFeature("last_seen", "last_seen", None, "UTC epoch ms", "newest event time"),
    StateFeature(
        "last_items_click",
        "last_k",
        _C,
        "list of {item_id, event_time_ms}",
        f"last {LAST_K} clicked items, newest first",
    ),
    StateFeature(
        "last_items_hover",
        "last_k",
        _H,
        "list of {item_id, event_time_ms}",
        f"last {LAST_K} hovered items, newest first",
    ),
    StateFeature(
        "session_start", "session_start", None, "UTC epoch ms", "start of the current session"
    ),
    StateFeature(
        "session_events", "session_events", None, "events", "events in the current session"
    ),
    StateFeature(
        "session_duration",
        "session_duration",
        None,
        "ms",
        "current session: newest minus oldest event time",
    ),
)

LAST_SEEN = "last_seen"

_AGGS_BY_NAME = {a.name: a for a in TILE_AGGREGATES}
for _d in DERIVED:
    if _d.numerator not in _AGGS_BY_NAME or _d.denominator not in _AGGS_BY_NAME:
        raise ValueError(f"derived feature {_d.name}: unknown aggregate")
for _f in STATE_FEATURES:
    if _f.kind == "lifetime_count" and f"count_{(_f.event_type or _C).value.lower()}" not in (
        _AGGS_BY_NAME
    ):
        raise ValueError(f"{_f.name}: as-of lookups need the matching count tile aggregate")


@dataclass(frozen=True)
class WindowFeature:
    """A windowed feature: one tile aggregate (or derived ratio) over one window."""

    aggregate: TileAggregate | Derived
    window: Window

    @property
    def name(self) -> str:
        """Feature name, ``{aggregation}_{event}_{window}``."""
        return f"{self.aggregate.name}_{self.window.name}"


_WINDOWED: tuple[TileAggregate | Derived, ...] = (*TILE_AGGREGATES, *DERIVED)
WINDOW_FEATURES: tuple[WindowFeature, ...] = tuple(
    WindowFeature(a, w) for w in WINDOWS for a in _WINDOWED
)
FEATURE_NAMES: tuple[str, ...] = (
    *(f.name for f in WINDOW_FEATURES),
    *(f.name for f in STATE_FEATURES),
)
FEATURES_BY_NAME: dict[str, WindowFeature] = {f.name: f for f in WINDOW_FEATURES}
STATE_FEATURES_BY_NAME: dict[str, StateFeature] = {f.name: f for f in STATE_FEATURES}
TILE_SIZES_MS: tuple[int, ...] = tuple(sorted({w.tile_ms for w in WINDOWS}))
LONGEST_WINDOW_MS: int = max(w.window_ms for w in WINDOWS)
LAST_K_TYPES: tuple[EventType, ...] = tuple(
    f.event_type for f in STATE_FEATURES if f.kind == "last_k" and f.event_type
)
LIFETIME_TYPES: tuple[EventType, ...] = tuple(
    f.event_type for f in STATE_FEATURES if f.kind == "lifetime_count" and f.event_type
)
if len(set(FEATURE_NAMES)) != len(FEATURE_NAMES):
    raise ValueError("duplicate feature names")
if AS_OF_RESOLUTION_MS not in TILE_SIZES_MS:
    raise ValueError("as-of lookups of state features need tiles of AS_OF_RESOLUTION_MS")


def retention_tiles(tile_ms: int) -> int:
    """How many tiles of size ``tile_ms`` a live lookup can need: the longest window using it."""
    return max(w.tiles for w in WINDOWS if w.tile_ms == tile_ms)


EMPTY_BY_KIND: dict[str, Any] = {
    "count": 0,
    "sum": 0,
    "distinct": 0,
    "max": None,
    "mean": None,
    "ratio": None,
    "lifetime_count": 0,
    "first_seen": None,
    "last_seen": None,
    "last_k": [],
    "session_start": None,
    "session_events": None,
    "session_duration": None,
}
"""What a feature answers (status ``present``) when nothing is there to aggregate, by kind.

Window features: no event of theirs in the window as of t (design section 4): counts, sums and
distinct counts are 0 (the sum of nothing); a max, mean or ratio has no value (None: a max of
nothing is undefined, a mean or ratio would divide by a count of 0). Profile features: no event
up to t: lifetime counts 0, first / last seen None, last-k ``[]``. Session features: no current
session (no event, or the newest one is :data:`SESSION_GAP_MS` or more before t): None. The
same in the reference implementation (:mod:`userpulse.reference`) and the lookup merge
(:mod:`userpulse.lookup.merge`); ``docs/features.md`` shows it per feature."""


def empty_value(name: str) -> Any:
    """The value (status ``present``) of feature ``name`` with an empty window, no event as of
    t or no current session; see :data:`EMPTY_BY_KIND`. A fresh object for ``[]``.

    Raises:
        KeyError: ``name`` is not a feature of the catalogue.
    """
    f = FEATURES_BY_NAME.get(name)
    kind = f.aggregate.kind if f is not None else STATE_FEATURES_BY_NAME[name].kind
    v = EMPTY_BY_KIND[kind]
    return list(v) if isinstance(v, list) else v
