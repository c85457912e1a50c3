"""What a lookup answers per feature: :class:`FeatureResult` with a :class:`Status`."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from userpulse.errors import UserpulseError


class Status(str, Enum):
    """Status of one feature value."""

    PRESENT = "present"
    NOT_FOUND = "not_found"
    OUT_OF_RETENTION = "out_of_retention"
    STORE_ERROR = "store_error"
    REWRITING = "rewriting"


class FeatureResult(NamedTuple):
    """One feature of one user (an immutable named tuple).

    Attributes:
        value: int, float, None, or for last-k features a list of
            ``{"item_id": str, "event_time_ms": int}`` newest first; None unless PRESENT
            (a PRESENT None means "no value as of t": empty max / mean, no current session).
        status: PRESENT, NOT_FOUND (no data for the user), OUT_OF_RETENTION, STORE_ERROR
            (Redis answered an error for this user's key, or the stored value is not layout v1;
            ``error`` says which key and what), or REWRITING (the store lost data and the job
            has not rewritten this user yet: its stored values may be too old; ask again soon).
        newest_event_time_ms: newest event (any type) behind the value, UTC epoch ms, or None.
        error: with STORE_ERROR, the key and the error; else None.
    """

    value: Any
    status: Status
    newest_event_time_ms: int | None
    error: str | None = None


class StoredValueError(UserpulseError, ValueError):
    """A stored value of one user that is not layout v1 (or a Redis error for one key).

    Attributes:
        which: ``"tiles"`` (the tile hash) or ``"profile"`` (the profile key).
    """

    def __init__(self, which: str, message: str) -> None:
        super().__init__(message)
        self.which = which


OUT_OF_RETENTION = FeatureResult(None, Status.OUT_OF_RETENTION, None)
NOT_FOUND = FeatureResult(None, Status.NOT_FOUND, None)
TILES = "tiles"
"""``StoredValueError.which`` of the tile hash (the profile key's is ``"profile"``)."""
