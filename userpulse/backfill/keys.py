"""Sorted composite keys ``(user code, position)`` for vectorised range look-ups, and gathers.

A key packs a user code and a position (a tile index or an event time in ms) into one int64:
``user << bits | (position - low + 1)``, so one ``numpy.searchsorted`` finds, for many
``(user, position)`` queries at once, where they fall among a user's sorted rows.
"""

from __future__ import annotations

import numpy as np

from userpulse.backfill.errors import BackfillError


class KeyIndex:
    """Keys of rows sorted by ``(user, position)``.

    Args:
        user: user code per row (int64, non-decreasing).
        position: position per row (int64, non-decreasing within a user).
        max_user: the largest user code any query may ask for (bounds the key's user bits).

    Raises:
        BackfillError: user codes and the position span need more than 62 bits together.
    """

    def __init__(self, user: np.ndarray, position: np.ndarray, max_user: int) -> None:
        self.low = int(position.min()) if len(position) else 0
        self.high = int(position.max()) if len(position) else 0
        self.bits = (self.high - self.low + 3).bit_length()
        user_bits = max(int(user.max()) if len(user) else 0, max_user).bit_length()
        if self.bits + user_bits > 62:
            raise BackfillError(
                f"{user_bits}-bit user codes and a {self.bits}-bit time span do not fit one key"
            )
        self.keys = self._key(user, position)

    def _key(self, user: np.ndarray, position: np.ndarray) -> np.ndarray:
        if len(user) and (int(user.min()) < 0 or int(user.max()).bit_length() + self.bits > 62):
            raise ValueError("user code outside the key index's range")
        pos = np.clip(position, self.low - 1, self.high + 1) - self.low + 1
        return (user.astype(np.int64) << self.bits) | pos.astype(np.int64)

    def first_at_or_after(self, user: np.ndarray, position: np.ndarray) -> np.ndarray:
        """For each query, the index of the first row of ``user`` with position >= ``position``
        (or the first row of the next user)."""
        return np.searchsorted(self.keys, self._key(user, position), side="left")


def gather(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row indices of all ranges ``[lo[i], hi[i])`` concatenated, and each range's offset
    into that result (length ``len(lo) + 1``). Empty ranges (``hi <= lo``) contribute nothing."""
    lengths = np.maximum(hi - lo, 0)
    offsets = np.zeros(len(lo) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    idx = np.arange(total, dtype=np.int64) + np.repeat(lo - offsets[:-1], lengths)
    return idx, offsets


def chunks(costs: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Split rows ``0..len(costs)`` into consecutive ``[start, stop)`` runs whose summed cost stays
    near ``budget`` (a run holds at least one row)."""
    if len(costs) == 0:
        return []
    cum = np.cumsum(costs)
    out: list[tuple[int, int]] = []
    start = 0
    base = 0
    while start < len(costs):
        stop = int(np.searchsorted(cum, base + budget, side="right"))
        stop = max(stop, start + 1)
        out.append((start, stop))
        base = int(cum[stop - 1])
        start = stop
    return out
