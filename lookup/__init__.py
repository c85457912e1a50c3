"""Reading features back from the online store: sync and asyncio clients (the HTTP service is
:mod:`lookup.service`, an optional extra). Importing this package never imports PyFlink, Beam or
the Kafka client."""

from lookup.client import FeatureClient, FeatureResult, Status
from lookup.errors import (
    FeatureLookupError,
    InvalidRequest,
    InvalidUserId,
    StoreUnavailable,
    TooManyUsers,
    UnknownFeature,
)

__all__ = [
    "FeatureClient",
    "FeatureLookupError",
    "FeatureResult",
    "InvalidRequest",
    "InvalidUserId",
    "Status",
    "StoreUnavailable",
    "TooManyUsers",
    "UnknownFeature",
]
