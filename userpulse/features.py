"""Feature definitions: the one place that declares windows, tile aggregates and features.

Adding a window is one line in :data:`WINDOWS`; adding a per-tile aggregate is one line in
:data:`TILE_AGGREGATES`. The job, the Redis writer, the lookup client and the reference
implementation all derive what they do from these tuples. Names follow design section 4:
``{aggregation}_{event}_{window}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from userpulse.events import EventType

AggKind = Literal["count", "sum", "max"]


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
        event_type: events that feed it.
        kind: ``count`` (merge: sum), ``sum`` (merge: sum), ``max`` (merge: max; empty = None).
        field: Event attribute aggregated (None for counts).
        unit: unit of the value, for the docs.
        meaning: one line for the docs.
    """

    name: str
    event_type: EventType
    kind: AggKind
    field: str | None
    unit: str
    meaning: str


WINDOWS: tuple[Window, ...] = (
    Window("1m", 60_000, 1_000),
    Window("5m", 300_000, 5_000),
    Window("1h", 3_600_000, 60_000),
    Window("24h", 86_400_000, 1_440_000),
)

TILE_AGGREGATES: tuple[TileAggregate, ...] = (
    TileAggregate("count_click", EventType.CLICK, "count", None, "events", "clicks"),
    TileAggregate("count_scroll", EventType.SCROLL, "count", None, "events", "scrolls"),
    TileAggregate("count_hover", EventType.HOVER, "count", None, "events", "hovers"),
    TileAggregate("sum_dwell_hover", EventType.HOVER, "sum", "dwell_ms", "ms", "total hover dwell"),
    TileAggregate(
        "max_depth_scroll",
        EventType.SCROLL,
        "max",
        "scroll_depth",
        "fraction 0..1",
        "deepest scroll",
    ),
)

LAST_SEEN = "last_seen"
"""Scalar feature: newest event time (UTC epoch ms) up to the end of the second containing t."""
LAST_SEEN_RESOLUTION_MS = 1_000


@dataclass(frozen=True)
class WindowFeature:
    """A windowed feature: one tile aggregate over one window."""

    aggregate: TileAggregate
    window: Window

    @property
    def name(self) -> str:
        """Feature name, ``{aggregation}_{event}_{window}``."""
        return f"{self.aggregate.name}_{self.window.name}"


WINDOW_FEATURES: tuple[WindowFeature, ...] = tuple(
    WindowFeature(a, w) for w in WINDOWS for a in TILE_AGGREGATES
)
FEATURE_NAMES: tuple[str, ...] = (*(f.name for f in WINDOW_FEATURES), LAST_SEEN)
FEATURES_BY_NAME: dict[str, WindowFeature] = {f.name: f for f in WINDOW_FEATURES}
TILE_SIZES_MS: tuple[int, ...] = tuple(sorted({w.tile_ms for w in WINDOWS}))
LONGEST_WINDOW_MS: int = max(w.window_ms for w in WINDOWS)


def retention_tiles(tile_ms: int) -> int:
    """How many tiles of size ``tile_ms`` a live lookup can need: the longest window using it."""
    return max(w.tiles for w in WINDOWS if w.tile_ms == tile_ms)
