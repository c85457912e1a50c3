"""Producers' side of the Schema Registry: register the event schema, frame records with its id.

The Confluent wire format (``00`` + 4-byte big-endian schema id + Avro body; Confluent docs,
"Wire format") through a Confluent-compatible registry (Confluent, Karapace, Apicurio's
``/apis/ccompat/v7``), with confluent-kafka's :class:`SchemaRegistryClient`. The schema goes under
the topic's subject (``<topic>-value``, the TopicNameStrategy); registering the same schema again
returns the same id.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from userpulse.events import Event
from userpulse.schemas.codec import CURRENT, WriterSchema, encode_confluent
from userpulse.settings import Settings


class RegistryError(RuntimeError):
    """The registry refused the schema or could not be reached (the message says which)."""


def register(
    url: str, subject: str, schema: WriterSchema = CURRENT, timeout_s: float = 10.0
) -> int:
    """Register ``schema`` under ``subject`` and return its id (the same id when it is known).

    Args:
        url: the registry's Confluent-compatible API, e.g. ``http://127.0.0.1:18085/apis/ccompat/v7``.
        subject: ``<topic>-value``.
        schema: the writer schema (default: this build's).
        timeout_s: bound of each HTTP request, seconds.

    Raises:
        RegistryError: the registry rejected the schema (e.g. incompatible with the subject's
            compatibility rule: the message carries its answer) or was not reachable.
    """
    client = SchemaRegistryClient({"url": url, "timeout": timeout_s})
    try:
        return int(client.register_schema(subject, Schema(json.dumps(schema.json), "AVRO")))
    except SchemaRegistryError as exc:
        raise RegistryError(f"schema registry {url} refused subject {subject!r}: {exc}") from None
    except Exception as exc:  # httpx connection errors and timeouts
        raise RegistryError(
            f"schema registry {url} not reachable ({type(exc).__name__}: {exc}); start it with "
            "`userpulse up --registry` or fix USERPULSE_SCHEMA_REGISTRY_URL"
        ) from None


@dataclass(frozen=True)
class ConfluentEncoder:
    """Event -> Confluent wire format with a registered ``schema_id`` (picklable: it travels to
    the producer processes of ``--processes N``)."""

    schema_id: int
    schema: WriterSchema = CURRENT

    def __call__(self, event: Event) -> bytes:
        """The record value of ``event``."""
        return encode_confluent(event, self.schema_id, self.schema)


def encoder_for(settings: Settings, topic: str) -> ConfluentEncoder:
    """Register this build's schema under ``<topic>-value`` on ``settings.registry_url`` and
    return the encoder of its id.

    Raises:
        RegistryError: no registry configured (the message says which setting to set), or as
            :func:`register`.
    """
    url = settings.registry_url
    if url is None:
        raise RegistryError(
            "Confluent framing needs a schema registry: set USERPULSE_SCHEMA_REGISTRY_URL, or "
            "USERPULSE_REGISTRY=true for the local one (`userpulse up --registry`)"
        )
    return ConfluentEncoder(
        register(url, f"{topic}-value", timeout_s=settings.schema_registry_timeout_s)
    )


def schema_lookup(settings: Settings) -> Callable[[int], WriterSchema] | None:
    """The readers' side: schema id -> writer schema from ``settings.registry_url`` (None: no
    registry), for :class:`userpulse.schemas.codec.Decoder` (``schema_by_id``), cached
    (``schema_registry_cache_size`` schemas, least recently used out).

    The returned function raises ``KeyError`` for an id the registry answers 404 for (a bad
    record), and :class:`RegistryError` when the registry fails or is unreachable (not a bad
    record: the caller stops or retries).
    """
    url = settings.registry_url
    if url is None:
        return None
    client = SchemaRegistryClient({"url": url, "timeout": settings.schema_registry_timeout_s})

    @functools.lru_cache(maxsize=settings.schema_registry_cache_size)
    def by_id(schema_id: int) -> WriterSchema:
        try:
            found = client.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise KeyError(schema_id) from None
            raise RegistryError(f"schema registry {url}: id {schema_id}: {exc}") from None
        except Exception as exc:  # httpx connection errors and timeouts
            raise RegistryError(
                f"schema registry {url} not reachable ({type(exc).__name__}: {exc})"
            ) from None
        return WriterSchema.from_json(json.loads(found.schema_str or "null"))

    return by_id
