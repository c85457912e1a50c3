"""Request and response bodies of the HTTP lookup service (they make its OpenAPI description).

Values are passed through as the merge returns them; their JSON types are documented here. The
feature names are not an enum in the schema (the catalogue grows): ``GET /v1/features`` lists them
and an unknown one is a 400.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from userpulse.lookup.merge import Status

MAX_AS_OF_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class ItemEvent(BaseModel):
    """One entry of a last-k list feature (newest first)."""

    item_id: str
    event_time_ms: int = Field(description="UTC epoch ms")


class FeatureValue(BaseModel):
    """One feature of one user."""

    value: int | float | list[ItemEvent] | None = Field(
        description="The value; null unless status is present (a max over an empty window is "
        "null as well)."
    )
    status: Status = Field(
        description="present, not_found (no data for the user), out_of_retention (the "
        "window's tiles were pruned), store_error (Redis answered an error for this user's "
        "key, or its stored value is not layout v1: see error; the other users are answered), "
        "or rewriting (the store lost data and the job has not rewritten this user yet; ask "
        "again soon)"
    )
    newest_event_time_ms: int | None = Field(
        description="UTC epoch ms of the newest event behind the value, or null."
    )
    error: str | None = Field(
        default=None,
        description="With store_error only: the key and the error (e.g. WRONGTYPE).",
    )


class UserFeatures(BaseModel):
    """Response of a single lookup."""

    user_id: str
    as_of_ms: int = Field(description="Lookup time used, UTC epoch ms.")
    features: dict[str, FeatureValue]


class BatchRequest(BaseModel):
    """Body of a batch lookup."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[str] = Field(
        min_length=1,
        max_length=1000,
        description="User ids (1..128 bytes of UTF-8 each); duplicates are answered once.",
    )
    features: list[str] | None = Field(
        default=None, description="Feature names; null or absent = every feature."
    )
    as_of_ms: int | None = Field(
        default=None, ge=0, le=MAX_AS_OF_MS, description="Lookup time, UTC epoch ms; null = now."
    )


class BatchFeatures(BaseModel):
    """Response of a batch lookup."""

    as_of_ms: int = Field(description="Lookup time used, UTC epoch ms.")
    users: dict[str, dict[str, FeatureValue]] = Field(description="user id -> feature -> value")


class FeatureNames(BaseModel):
    """The feature catalogue."""

    features: list[str]


class Health(BaseModel):
    """Health or readiness."""

    status: str = Field(description="ok")


class ErrorDetail(BaseModel):
    """What was wrong."""

    code: str = Field(
        description="unknown_feature, invalid_user_id, too_many_users, invalid_request, "
        "unauthenticated, forbidden, forbidden_feature, quota_exceeded, not_found, "
        "method_not_allowed, store_unavailable or internal"
    )
    message: str
    details: list[dict[str, object]] | None = None


class ErrorBody(BaseModel):
    """Body of every error response."""

    error: ErrorDetail
