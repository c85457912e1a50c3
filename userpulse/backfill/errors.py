"""Errors of the backfill: one root type, all of them validation errors (nothing is retryable)."""

from __future__ import annotations

from userpulse.errors import UserpulseError


class BackfillError(UserpulseError, ValueError):
    """Bad input to a backfill: a missing column, an unreadable file, an unknown feature name, a
    label without a time, or a history whose ids and times do not fit the engine's keys."""
