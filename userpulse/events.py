"""The event model (design section 3), independent of the wire format.

Times are UTC epoch milliseconds. ``user_id`` is kept byte-exact (1..128 bytes of UTF-8).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum

MIN_EVENT_TIME_MS = 946_684_800_000
"""2000-01-01T00:00:00Z: events before it are out of the sane range (design section 4)."""
MAX_USER_ID_BYTES = 128


class EventType(str, Enum):
    """The three interaction kinds on the wire."""

    CLICK = "CLICK"
    SCROLL = "SCROLL"
    HOVER = "HOVER"


@dataclass(frozen=True, slots=True)
class Event:
    """One interaction of one user.

    Attributes:
        event_id: unique id (dedup, tracing).
        event_type: CLICK, SCROLL or HOVER.
        user_id: 1..128 bytes of UTF-8; also the Kafka record key.
        event_time_ms: event time, UTC epoch milliseconds, from the payload.
        session_id: client session id.
        item_id, device, surface, row: optional context.
        position: CLICK only, optional rank on screen.
        dwell_ms: HOVER only, >= 0 milliseconds.
        scroll_depth: SCROLL only, fraction 0.0..1.0 of the page.
        scroll_px: SCROLL only, optional pixels scrolled.
    """

    event_id: str
    event_type: EventType
    user_id: str
    event_time_ms: int
    session_id: str
    item_id: str | None = None
    device: str | None = None
    surface: str | None = None
    row: int | None = None
    position: int | None = None
    dwell_ms: int | None = None
    scroll_depth: float | None = None
    scroll_px: int | None = None

    def replace(self, **changes: object) -> Event:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def validation_error(event: Event, now_ms: int, max_future_ms: int = 86_400_000) -> str | None:
    """Why ``event`` must be dead-lettered, or None when it is valid.

    Args:
        event: a decoded event.
        now_ms: the job's clock, UTC epoch ms (wall clock; injectable for tests).
        max_future_ms: how far ahead of ``now_ms`` an event time may be (default 1 day).

    Returns:
        A reason string starting with the field name, or None. Event times before 2000-01-01 or
        more than ``max_future_ms`` ahead of the clock give "event_time out of range: ..." -- this
        catches seconds and microseconds mistaken for milliseconds (case H03).
    """
    uid = event.user_id.encode("utf-8", "surrogatepass")
    if not uid:
        return "user_id empty"
    if len(uid) > MAX_USER_ID_BYTES:
        return f"user_id too long: {len(uid)} bytes > {MAX_USER_ID_BYTES}"
    t = event.event_time_ms
    if t < MIN_EVENT_TIME_MS or t > now_ms + max_future_ms:
        return f"event_time out of range: {t} (sane: {MIN_EVENT_TIME_MS}..{now_ms + max_future_ms})"
    if event.event_type is EventType.HOVER:
        if event.dwell_ms is None or event.dwell_ms < 0:
            return f"dwell_ms invalid: {event.dwell_ms} (HOVER needs dwell_ms >= 0)"
    elif event.event_type is EventType.SCROLL:
        d = event.scroll_depth
        if d is None and event.scroll_px is None:
            return "scroll_depth missing: SCROLL needs scroll_depth and/or scroll_px"
        if d is not None and (math.isnan(d) or not 0.0 <= d <= 1.0):
            return f"scroll_depth invalid: {d} (must be 0.0..1.0)"
        if event.scroll_px is not None and event.scroll_px < 0:
            return f"scroll_px invalid: {event.scroll_px} (must be >= 0)"
    return None
