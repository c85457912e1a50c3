"""The Redis key layout of the online store, version 1. Writer and reader both import this module;
nobody else builds keys. Written down in ``docs/key-layout.md``; pinned by golden tests.

Keys (``<tag>`` is the escaped user id, see :func:`user_tag`)::

    up:v1:{<tag>}:t:<tile_ms>   hash  field <tile index k> -> tile value (see encode_tile)
    up:v1:{<tag>}:m             hash  field "ls" -> last seen event time (UTC epoch ms)

All keys of one user share the Redis Cluster hash tag ``{<tag>}``, so a user's lookup touches one
slot. Tile values are ``;``-separated: ``n;count_click;count_scroll;count_hover;sum_dwell_hover;
max_depth_scroll;max_event_time_ms`` (empty = none). ``n`` (events folded into the tile) only grows
and is the tile's version: a write with a smaller or equal ``n`` never replaces a stored tile.
"""

from __future__ import annotations

from userpulse.features import LONGEST_WINDOW_MS
from userpulse.tiles import N_AGGS, TileValue

LAYOUT_VERSION = 1
PREFIX = f"up:v{LAYOUT_VERSION}"
META_LAST_SEEN = "ls"


def user_tag(user_id: str) -> str:
    """The user id as it appears inside the hash tag: ``%``, ``{`` and ``}`` percent-escaped.

    Escaping keeps the tag well formed (a ``}`` inside an id would end the tag early, and an id
    starting with ``}`` would make the tag empty and scatter the user's keys across slots).
    """
    return user_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def tiles_key(user_id: str, tile_ms: int) -> str:
    """Hash of the user's tiles of size ``tile_ms``."""
    return f"{PREFIX}:{{{user_tag(user_id)}}}:t:{tile_ms}"


def meta_key(user_id: str) -> str:
    """Hash of the user's scalar values (last seen)."""
    return f"{PREFIX}:{{{user_tag(user_id)}}}:m"


def ttl_s(allowed_lateness_ms: int = 600_000, margin_s: int = 3_600) -> int:
    """Key TTL in s: longest window + allowed lateness + ``margin_s``; refreshed on each write."""
    return (LONGEST_WINDOW_MS + allowed_lateness_ms) // 1000 + margin_s


def _fmt(v: float | int | None) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def encode_tile(tile: TileValue) -> str:
    """``n;agg...;max_event_time`` of a tile (floats with repr, None as empty)."""
    return ";".join(_fmt(v) for v in tile)


def _num(s: str) -> float | int | None:
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        return float(s)


def decode_tile(raw: str | bytes) -> TileValue:
    """Inverse of :func:`encode_tile`.

    Raises:
        ValueError: not a v1 tile value (wrong number of parts or not numbers).
    """
    s = raw.decode() if isinstance(raw, bytes) else raw
    parts = s.split(";")
    if len(parts) != N_AGGS + 2:
        raise ValueError(f"tile value has {len(parts)} parts, expected {N_AGGS + 2}: {s!r}")
    return [_num(p) for p in parts]
