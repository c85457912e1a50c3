"""Settings by component. :class:`userpulse.settings.Settings` is all of them (by inheritance, so
``settings.<field>`` keeps working everywhere); a component's code may ask for its own class
only: the lookup client and service take :class:`LookupSettings`."""

from userpulse.config.base import ComponentSettings
from userpulse.config.cluster import ClusterSettings
from userpulse.config.job import JobSettings
from userpulse.config.kafka import KafkaSettings
from userpulse.config.lookup import LookupSettings
from userpulse.config.redis import RedisSettings

__all__ = [
    "ClusterSettings",
    "ComponentSettings",
    "JobSettings",
    "KafkaSettings",
    "LookupSettings",
    "RedisSettings",
]
