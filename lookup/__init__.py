"""Reading features back from the online store: sync and asyncio clients (the HTTP service is
:mod:`userpulse.lookup.service`, an optional extra). Importing this package never imports PyFlink,
Beam or
the Kafka client."""

from userpulse.lookup.client import FeatureClient, FeatureResult, Status
from userpulse.lookup.errors import (
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
