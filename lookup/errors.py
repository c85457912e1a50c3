"""Exceptions of the lookup client and service: one root, invalid requests apart from store errors.

``InvalidRequest`` (and its subclasses) are the caller's fault and never worth retrying; they are
also ``ValueError`` so older callers that caught ``ValueError`` keep working. ``StoreUnavailable``
means Redis could not be reached or refused us: retryable. A missing feature or user is a
status (:class:`userpulse.lookup.merge.Status`), not an exception.
"""

from __future__ import annotations

from userpulse.errors import UserpulseError


class FeatureLookupError(UserpulseError):
    """Root of every error the lookup client raises."""


class InvalidRequest(FeatureLookupError, ValueError):
    """The request itself is wrong (unknown feature, bad user id, too many users)."""


class UnknownFeature(InvalidRequest):
    """A feature name that the catalogue (``userpulse.features.FEATURE_NAMES``) does not have."""


class InvalidUserId(InvalidRequest):
    """A user id that is not 1..128 bytes of valid UTF-8 (design section 3)."""


class TooManyUsers(InvalidRequest):
    """A batch lookup with more users than allowed."""


class StoreUnavailable(FeatureLookupError):
    """Redis could not be reached, timed out, or refused the lookup user's credentials."""

    retryable = True
