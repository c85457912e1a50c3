"""The Redis key layout of the online store, version 1. Writer and reader both import this module;
nobody else builds keys or field names. Written down in ``docs/key-layout.md``; pinned by golden
tests.

One hash per user (``<tag>`` is the escaped user id, see :func:`user_tag`)::

    up:v1:{<tag>}     field  t:<tile_ms>:<k>  -> tile value (see encode_tile)
                      field  ls               -> last seen event time (UTC epoch ms)
                      field  p:<tile_ms>      -> highest tile index pruned (dropped) so far

                      field  g                -> store generation written under (see below)
                      field  m                -> <events>;<as_of_ms>: version of the w: fields
                      field  w:<window_ms>    -> <valid_until_ms>;<tile value>: the window's
                                                 tiles merged as of <as_of_ms> (pre-merged)

    up:v1:{<tag>}:p   string <version>;<profile JSON>  (lifetime counts, first/last seen,
                                                     last-k items, current session)

    up:v1:gen         string <generation>  (the store generation marker, one per store)
    up:v1:run         string <run_id>[,<run_id>...]  (the server, or every primary of a
                                                     cluster, the marker was last confirmed on)

Both keys share the hash tag, so a user's lookup is one Redis Cluster slot. The tile hash has a
TTL of the longest window + allowed lateness + margin, refreshed on every write; the profile key
outlives it (``profile_ttl_s``, default 400 days), because lifetime features outlive windows.
Tile values are ``;``-separated: ``n``, one value per entry of
``userpulse.features.TILE_AGGREGATES`` in order, then ``max_event_time_ms`` (empty = none;
``distinct`` sketches as base64, see :mod:`userpulse.sketch`). ``n`` (events folded into the tile)
only grows and is the tile's version: a write with a smaller or equal ``n`` never replaces a stored
tile. The profile's version is the number of events folded into it, same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from userpulse import sketch
from userpulse.features import LONGEST_WINDOW_MS, TILE_AGGREGATES
from userpulse.tiles import N_AGGS, TileValue

LAYOUT_VERSION = 1
PREFIX = f"up:v{LAYOUT_VERSION}"
META_LAST_SEEN = "ls"
META_GENERATION = "g"
"""Field of the tile hash: the store generation the user was last written in full under (or
since); see :func:`generation_key`."""
GENERATION_KEY = f"{PREFIX}:gen"
"""The store generation marker (a decimal integer > 0), raised by the job each time it finds the
store lost data (restart, older snapshot, ``FLUSHDB``). A user whose hash has ``g`` below it has
not been rewritten since: lookups answer ``rewriting`` instead of values (docs/key-layout.md)."""
RUN_KEY = f"{PREFIX}:run"
"""The ``run_id`` (``INFO server``) of the Redis server the job last confirmed the marker on,
written by the job after it raised the marker for a restart. A lookup connected to a server with
another ``run_id`` (restarted, not yet noticed by the job) answers ``rewriting``
(:mod:`userpulse.lookup.runguard`). On a Redis Cluster it holds the ``run_id`` of every primary
(:func:`run_record`); one server's record is its single ``run_id``."""
RUN_SEP = ","
"""Separator of the run ids in :data:`RUN_KEY` (``run_id`` is 40 hex characters, never a comma)."""


def run_record(run_ids: Iterable[str]) -> str:
    """The value of :data:`RUN_KEY` for a store whose server(s) have ``run_ids`` (one server: one
    id; a cluster: one per primary): the distinct ids sorted, joined by :data:`RUN_SEP`. The
    JVM's ``RedisLayout.runRecord`` writes the same."""
    return RUN_SEP.join(sorted(set(run_ids)))


def recorded_run_ids(value: str | None) -> frozenset[str]:
    """The run ids of a :data:`RUN_KEY` value (:func:`run_record`); empty for None or ``""``."""
    return frozenset(r for r in (value or "").split(RUN_SEP) if r)


# The profile document: the JSON after ``<version>;`` in the profile key (:func:`profile_key`).
# The writer (the JVM job, ``ProfileDoc.java``; :mod:`userpulse.profile` in Python), the lookup
# (:mod:`userpulse.lookup.state`) and the seed use these names, and nothing else spells them.
PROFILE_COUNTS = "c"
"""Lifetime events per event type name: ``{"CLICK": n, ...}``."""
PROFILE_FIRST_SEEN = "fs"
"""Oldest event time, UTC epoch ms (null before any event)."""
PROFILE_LAST_SEEN = "ls"
"""Newest event time, UTC epoch ms (null before any event)."""
PROFILE_LAST_K = "k"
"""Per event type name, the newest ``LAST_K`` items: ``[[event_time_ms, event_id, item_id], ...]``
newest first."""
PROFILE_SESSION = "s"
"""The newest session ``[start ms, end ms (newest event), events]``, or null."""
PROFILE_VERSION = "v"
"""Events folded in (the write version; also the ``<version>`` prefix of the stored value)."""
PROFILE_REVIVED_BY = "rev"
"""Event id that revived this profile from :data:`PROFILE_BASE` (replay safety)."""
PROFILE_BASE = "base"
"""The stored document it was revived from (without its own ``rev`` / ``base``), or null."""
PROFILE_KEYS = (
    PROFILE_COUNTS,
    PROFILE_FIRST_SEEN,
    PROFILE_LAST_SEEN,
    PROFILE_LAST_K,
    PROFILE_SESSION,
    PROFILE_VERSION,
    PROFILE_REVIVED_BY,
    PROFILE_BASE,
)
"""Every key of the document, in the order the writer emits them."""


def user_tag(user_id: str) -> str:
    """The user id as it appears inside the hash tag: ``%``, ``{`` and ``}`` percent-escaped.

    Escaping keeps the tag well formed (a ``}`` inside an id would end the tag early, and an id
    starting with ``}`` would make the tag empty and scatter the user's keys across slots).
    """
    return user_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def user_key(user_id: str) -> str:
    """The user's hash: ``up:v1:{<tag>}``."""
    return f"{PREFIX}:{{{user_tag(user_id)}}}"


def profile_key(user_id: str) -> str:
    """The user's profile string: ``up:v1:{<tag>}:p`` (same hash slot as :func:`user_key`)."""
    return f"{PREFIX}:{{{user_tag(user_id)}}}:p"


PROFILE_TTL_S = 400 * 86_400
"""Default TTL of the profile key in s (400 days), refreshed on every write."""


def tile_field(tile_ms: int, index: int) -> str:
    """Field of tile ``index`` of size ``tile_ms``: ``t:<tile_ms>:<index>``."""
    return f"t:{tile_ms}:{index}"


def pruned_field(tile_ms: int) -> str:
    """Field holding the highest pruned tile index of size ``tile_ms``: ``p:<tile_ms>``."""
    return f"p:{tile_ms}"


META_PREMERGED = "m"
"""Field of the tile hash: ``<events>;<as_of_ms>``, the version of the pre-merged window fields
(:func:`premerged_field`): the events folded into the user's state when they were computed (the
profile's version) and the time T they were merged as of (UTC epoch ms). A write replaces them
only with a larger ``(events, as_of_ms)`` (compared in that order)."""


def premerged_field(window_ms: int) -> str:
    """Field of the window ``window_ms``'s tiles merged as of T: ``w:<window_ms>``; its value is
    :func:`encode_window` (see :mod:`userpulse.premerge`)."""
    return f"w:{window_ms}"


def encode_premerged_meta(events: int, as_of_ms: int) -> str:
    """``<events>;<as_of_ms>``: the value of :data:`META_PREMERGED`."""
    return f"{int(events)};{int(as_of_ms)}"


def decode_premerged_meta(raw: str | bytes) -> tuple[int, int]:
    """Inverse of :func:`encode_premerged_meta`: ``(events, as_of_ms)``.

    Raises:
        ValueError: not two integers separated by ``;``.
    """
    s = raw.decode() if isinstance(raw, bytes) else raw
    events, sep, as_of = s.partition(";")
    if not sep:
        raise ValueError(f"not a v1 pre-merged version: {s[:40]!r}")
    return int(events), int(as_of)


def encode_window(valid_until_ms: int | None, tile: TileValue) -> str:
    """``<valid_until_ms>;<tile value>`` (empty ``valid_until_ms``: no bound; the tile value as
    :func:`encode_tile`): the value of :func:`premerged_field`."""
    return f"{_str(valid_until_ms)};{encode_tile(tile)}"


def split_window(raw: bytes) -> tuple[int | None, bytes]:
    """``(valid_until_ms or None, encoded tile value)`` of a stored :func:`encode_window` value.

    Raises:
        ValueError: no ``;`` or a validity that is not an integer.
    """
    until, sep, tile = raw.partition(b";")
    if not sep:
        raise ValueError(f"not a v1 pre-merged window value: {raw[:40]!r}")
    return (int(until) if until else None), tile


class FieldName(NamedTuple):
    """A parsed field name of the tile hash (:func:`parse_field`).

    Attributes:
        kind: ``t`` (a tile), ``p`` (highest pruned index), ``w`` (a pre-merged window),
            ``ls`` (last seen), ``g`` (store generation) or ``m`` (pre-merged version).
        tile_ms: tile size in ms (the window size for ``w``; 0 for ``ls``, ``g``, ``m``).
        tile_index: tile index, event time // tile_ms (0 for ``p`` and ``ls``).
    """

    kind: str
    tile_ms: int
    tile_index: int


class StoredProfile(NamedTuple):
    """A decoded profile value (:func:`decode_profile`): its version and its JSON document."""

    version: int
    doc_json: str


def parse_field(field: str) -> FieldName:
    """``("t", tile_ms, index)``, ``("p", tile_ms, 0)``, ``("w", window_ms, 0)``, ``("ls", 0,
    0)``, ``("g", 0, 0)`` or ``("m", 0, 0)`` for a field name.

    Raises:
        ValueError: not a v1 field name.
    """
    kind, _, rest = field.partition(":")
    if kind == "t":
        g, _, k = rest.partition(":")
        return FieldName("t", int(g), int(k))
    if kind in ("p", "w"):
        return FieldName(kind, int(rest), 0)
    if field in (META_LAST_SEEN, META_GENERATION, META_PREMERGED):
        return FieldName(field, 0, 0)
    raise ValueError(f"not a v1 field: {field!r}")


def ttl_s(allowed_lateness_ms: int = 600_000, margin_s: int = 3_600) -> int:
    """Key TTL in s: longest window + allowed lateness + ``margin_s``; refreshed on each write."""
    return (LONGEST_WINDOW_MS + allowed_lateness_ms) // 1000 + margin_s


_DISTINCT_POS = frozenset(i for i, a in enumerate(TILE_AGGREGATES, start=1) if a.kind == "distinct")


def _str(v: object) -> str:
    return "" if v is None else str(v)


_ENCODERS = [sketch.encode if i in _DISTINCT_POS else _str for i in range(N_AGGS + 2)]


def encode_tile(tile: TileValue) -> str:
    """``n;agg...;max_event_time`` of a tile (numbers with ``str``, None as empty, sketches
    base64)."""
    return ";".join([f(v) for f, v in zip(_ENCODERS, tile, strict=True)])


def _num(s: str) -> float | int | None:
    if s.isdigit():  # the common case: counts, sums of ms, times
        return int(s)
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        return float(s)


def _sketch(s: str) -> list[int]:
    return sketch.decode(s) if s else []


_PARSERS = [_sketch if i in _DISTINCT_POS else _num for i in range(N_AGGS + 2)]


def decode_tile(raw: str | bytes) -> TileValue:
    """Inverse of :func:`encode_tile`.

    Raises:
        ValueError: not a v1 tile value (wrong number of parts or not numbers).
    """
    s = raw.decode() if isinstance(raw, bytes) else raw
    parts = s.split(";")
    if len(parts) != N_AGGS + 2:
        raise ValueError(f"tile value has {len(parts)} parts, expected {N_AGGS + 2}: {s!r}")
    return [f(p) for f, p in zip(_PARSERS, parts, strict=True)]


def encode_profile(version: int, doc_json: str) -> str:
    """``<version>;<json>``: the stored profile value."""
    return f"{version};{doc_json}"


def decode_profile(raw: str | bytes) -> StoredProfile:
    """Inverse of :func:`encode_profile`: ``(version, json text)``.

    Raises:
        ValueError: no ``<version>;`` prefix.
    """
    s = raw.decode() if isinstance(raw, bytes) else raw
    v, sep, doc = s.partition(";")
    if not sep or not v.isdigit():
        raise ValueError(f"not a v1 profile value: {s[:40]!r}")
    return StoredProfile(int(v), doc)
