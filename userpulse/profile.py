"""Per-user profile: the features that are not windowed (design section 4), pure functions.

Lifetime counts, first and last seen, the last-k clicked and hovered items, and sessions (30 min
inactivity gap). The job keeps a :class:`Profile` next to the user's tiles and writes it, as a
versioned JSON record, to the user's profile key (:func:`userpulse.layout.profile_key`), which
outlives the tiles. The job's state is freed with the tiles (a quiet user costs nothing); when
the user comes back, the job revives the profile from the stored record (:func:`revive`).

Replay safety: the stored record remembers the event that revived it (``rev``) and the record it
was revived from (``base``). After a restore from a checkpoint taken before a revival, the replay
revives again at the same event and starts from ``base``, not from a record that already counts
the replayed events, so nothing is counted twice. The version is the number of events folded in
(base included): it only grows, and the writer keeps the larger one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from userpulse import layout as L
from userpulse.events import Event
from userpulse.features import LAST_K, LAST_K_TYPES, LIFETIME_TYPES, SESSION_GAP_MS

Session = list[int]
"""[start ms, end ms (newest event), events]."""
LastK = list[list[Any]]
"""[[event_time ms, event_id, item_id], ...] newest first (ties: larger event_id first)."""


@dataclass
class Profile:
    """One user's non-window state.

    Attributes:
        version: events folded in, base included (the write version).
        counts: lifetime events per type name (``"CLICK"`` -> n).
        first_seen, last_seen: oldest / newest event time, UTC epoch ms (None before any event).
        last_k: per type name, the newest :data:`LAST_K` events with an item id.
        sessions: sessions that a late event may still extend or merge, oldest first; the last
            one is the newest session.
        rev: event id that revived this profile from ``base``.
        base: the stored record it was revived from (a dict as in :meth:`record`), or None.
    """

    version: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    first_seen: int | None = None
    last_seen: int | None = None
    last_k: dict[str, LastK] = field(default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    rev: str | None = None
    base: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        """The stored document: what lookups read (newest session only) plus rev / base."""
        return {
            L.PROFILE_COUNTS: self.counts,
            L.PROFILE_FIRST_SEEN: self.first_seen,
            L.PROFILE_LAST_SEEN: self.last_seen,
            L.PROFILE_LAST_K: self.last_k,
            L.PROFILE_SESSION: self.sessions[-1] if self.sessions else None,
            L.PROFILE_VERSION: self.version,
            L.PROFILE_REVIVED_BY: self.rev,
            L.PROFILE_BASE: self.base,
        }

    def record_json(self) -> str:
        """:meth:`record` as compact JSON."""
        return json.dumps(self.record(), separators=(",", ":"))


def _from_doc(doc: dict[str, Any]) -> Profile:
    s = doc.get(L.PROFILE_SESSION)
    return Profile(
        version=int(doc.get(L.PROFILE_VERSION) or 0),
        counts=dict(doc.get(L.PROFILE_COUNTS) or {}),
        first_seen=doc.get(L.PROFILE_FIRST_SEEN),
        last_seen=doc.get(L.PROFILE_LAST_SEEN),
        last_k={k: [list(x) for x in v] for k, v in (doc.get(L.PROFILE_LAST_K) or {}).items()},
        sessions=[list(s)] if s else [],
    )


def revive(stored: dict[str, Any] | None, first_event: Event) -> Profile:
    """A profile for a user with no job state, about to fold ``first_event``.

    Args:
        stored: the user's stored record (JSON document of :meth:`Profile.record`), or None.
        first_event: the event that revives the user.

    Returns:
        A profile continuing ``stored``; when ``stored`` was itself revived by ``first_event``
        (a replay after a restore), it continues ``stored["base"]`` instead.
    """
    if stored is None:
        return Profile(rev=first_event.event_id)
    replay = stored.get(L.PROFILE_REVIVED_BY) == first_event.event_id
    base = stored.get(L.PROFILE_BASE) if replay else stored
    if base is None:
        return Profile(rev=first_event.event_id)
    base = {k: v for k, v in base.items() if k not in (L.PROFILE_REVIVED_BY, L.PROFILE_BASE)}
    p = _from_doc(base)
    p.rev, p.base = first_event.event_id, base
    return p


def fold(p: Profile, e: Event, watermark_ms: int, allowed_lateness_ms: int) -> None:
    """Fold counted event ``e`` into ``p`` in place; drop sessions no late event can reach."""
    p.version += 1
    t = e.event_time_ms
    name = e.event_type.value
    if e.event_type in LIFETIME_TYPES:
        p.counts[name] = p.counts.get(name, 0) + 1
    if p.first_seen is None or t < p.first_seen:
        p.first_seen = t
    if p.last_seen is None or t > p.last_seen:
        p.last_seen = t
    if e.item_id is not None and e.event_type in LAST_K_TYPES:
        _insert_last_k(p.last_k.setdefault(name, []), [t, e.event_id, e.item_id])
    _add_to_sessions(p.sessions, t)
    horizon = watermark_ms - allowed_lateness_ms - SESSION_GAP_MS
    while len(p.sessions) > 1 and p.sessions[0][1] < horizon:
        p.sessions.pop(0)


def _insert_last_k(lst: LastK, entry: list[Any]) -> None:
    key = (entry[0], entry[1])
    i = 0
    while i < len(lst) and (lst[i][0], lst[i][1]) > key:
        i += 1
    if i < len(lst) and (lst[i][0], lst[i][1]) == key:
        return  # the same event again
    if i >= LAST_K:
        return
    lst.insert(i, entry)
    del lst[LAST_K:]


def _add_to_sessions(sessions: list[Session], t: int) -> None:
    """Session windows with gap G: events less than G apart share a session (merging)."""
    touching = [s for s in sessions if s[0] - SESSION_GAP_MS < t < s[1] + SESSION_GAP_MS]
    if not touching:
        sessions.append([t, t, 1])
        sessions.sort()
        return
    merged = [
        min(t, *(s[0] for s in touching)),
        max(t, *(s[1] for s in touching)),
        1 + sum(s[2] for s in touching),
    ]
    for s in touching:
        sessions.remove(s)
    sessions.append(merged)
    sessions.sort()
