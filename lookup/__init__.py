"""Reading features back from the online store: the lookup client."""

from lookup.client import FeatureClient, FeatureResult, Status

__all__ = ["FeatureClient", "FeatureResult", "Status"]
