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
from typing import TypeVar

from cachetools import LRUCache, TTLCache
from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from userpulse.events import Event
from userpulse.schemas.codec import (
    CURRENT,
    Decoder,
    WriterSchema,
    encode_confluent,
    job_writers,
    reader_schema,
)
from userpulse.settings import Settings

_T = TypeVar("_T")


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
    """Register the producer's schema (``settings.schema_dir``, else this build's) under
    ``<topic>-value`` on ``settings.registry_url`` and return the encoder of its id.

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
    schema = reader_schema(settings.schema_dir)
    return ConfluentEncoder(
        register(url, f"{topic}-value", schema, timeout_s=settings.schema_registry_timeout_s),
        schema,
    )


FINGERPRINT_MISS_TTL_S = 30.0
"""How long a fingerprint the subject lacks is not asked again, s (the JVM's
``EventDecoder.FINGERPRINT_MISS_TTL_MS``)."""


class RegistrySchemas:
    """The readers' side: writer schemas from a Confluent-compatible registry, as the job finds
    them (``io.userpulse.flink.decode.EventDecoder`` with ``HttpSchemaRegistry``).

    Ids (Confluent framing) by ``GET /schemas/ids/{id}``; fingerprints (single-object framing of
    a schema this build lacks) among the schemas of ``subject``. Both are kept in bounded LRU
    caches of ``cache_size`` schemas; a fingerprint the subject lacks is not asked again for
    :data:`FINGERPRINT_MISS_TTL_S`. A registry schema that does not parse counts as unknown.

    Args:
        url: the registry's Confluent-compatible API.
        subject: the topic's value subject (``<topic>-value``).
        timeout_s: bound of one HTTP request, s.
        cache_size: the most schemas per cache (ids; fingerprints), >= 1.

    Methods raise :class:`RegistryError` when the registry fails or cannot be reached (not a bad
    record: the caller retries or stops).
    """

    def __init__(self, url: str, subject: str, timeout_s: float, cache_size: int) -> None:
        self.url, self.subject = url, subject
        self._client = SchemaRegistryClient({"url": url, "timeout": timeout_s})
        self._ids: LRUCache[int, WriterSchema] = LRUCache(cache_size)
        self._fps: LRUCache[bytes, WriterSchema] = LRUCache(cache_size)
        self._misses: TTLCache[bytes, bool] = TTLCache(cache_size, FINGERPRINT_MISS_TTL_S)

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistrySchemas | None:
        """The registry of ``settings`` (``registry_url``, ``value_subject``, timeout, cache
        size), or None when none is configured."""
        url = settings.registry_url
        if url is None:
            return None
        return cls(
            url,
            settings.value_subject,
            settings.schema_registry_timeout_s,
            settings.schema_registry_cache_size,
        )

    def _ask(self, what: str, call: Callable[[], _T]) -> _T | None:
        """``call()``; None for a 404; :class:`RegistryError` for any other failure."""
        try:
            return call()
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                return None
            raise RegistryError(f"schema registry {self.url}: {what}: {exc}") from None
        except Exception as exc:  # httpx connection errors and timeouts
            raise RegistryError(
                f"schema registry {self.url} not reachable ({type(exc).__name__}: {exc})"
            ) from None

    def by_id(self, schema_id: int) -> WriterSchema:
        """The writer schema of ``schema_id``.

        Raises:
            KeyError: the registry does not know the id, or its schema does not parse.
            RegistryError: the registry failed.
        """
        found = self._ids.get(schema_id)
        if found is None:
            got = self._ask(f"id {schema_id}", lambda: self._client.get_schema(schema_id))
            found = _parse(got.schema_str if got is not None else None)
            if found is None:
                raise KeyError(schema_id)
            self._ids[schema_id] = found
        return found

    def by_fingerprint(self, fp: bytes) -> WriterSchema | None:
        """The subject's schema whose single-object fingerprint is ``fp`` (8 bytes), or None.

        Raises:
            RegistryError: the registry failed.
        """
        found = self._fps.get(fp)
        if found is not None or fp in self._misses:
            return found
        versions = self._ask(self.subject, lambda: self._client.get_versions(self.subject))
        for v in versions or []:
            got = self._ask(f"{self.subject} version {v}", functools.partial(self._version, v))
            schema = _parse(got.schema.schema_str if got is not None else None)
            if schema is not None and schema.fingerprint == fp:
                self._fps[fp] = schema
                return schema
        self._misses[fp] = True
        return None

    def _version(self, version: int) -> RegisteredSchema:
        return self._client.get_version(self.subject, version)


def _parse(text: str | None) -> WriterSchema | None:
    """A registry schema text as a writer schema, or None (absent, or not an Avro schema)."""
    if text is None:
        return None
    try:
        return WriterSchema.from_json(json.loads(text))
    except Exception:  # any fault of the schema text: the record's schema is unknown
        return None


def job_decoder(settings: Settings) -> Decoder:
    """A decoder that reads what the job reads with ``settings``: the reader schema
    (``schema_dir``), the job's writer schemas (:func:`userpulse.schemas.codec.job_writers`), and
    with a
    registry (``registry_url``) Confluent ids and unknown fingerprints through
    :class:`RegistrySchemas` (its methods raise :class:`RegistryError` out of ``decode``)."""
    reader = reader_schema(settings.schema_dir)
    reg = RegistrySchemas.from_settings(settings)
    return Decoder(
        known=job_writers(reader),
        reader=reader,
        schema_by_id=reg.by_id if reg else None,
        schema_by_fingerprint=reg.by_fingerprint if reg else None,
    )
