"""The root of the library's expected errors: :class:`UserpulseError`.

Every error the library raises on purpose (a setting that cannot work, a missing tool, a store
that cannot be reached, a record that does not decode, bad input to a command) derives from it,
next to the built-in class it always had (``ValueError``, ``RuntimeError``), so callers that
caught those keep working. The CLI prints such an error as one line and exits 2
(:func:`userpulse.cli.main`); anything else is a bug and keeps its traceback.

The classes, by module (names unchanged): ``userpulse.kafka_conf.KafkaConfError``,
``userpulse.stack.StackError``, ``userpulse.backfill.errors.BackfillError``,
``userpulse.schemas.codec.DecodeError``, ``userpulse.lookup.errors.FeatureLookupError``
(``InvalidRequest``,
``StoreUnavailable``, ...), ``userpulse.lookup.results.StoredValueError``,
``userpulse.producers.kafka_out.ProducerError``, ``userpulse.producers.replay.DatasetError``,
``userpulse.producers.profile.ProfileError``,
``userpulse.jobs.runtime.JobConfigError``, ``userpulse.jobs.control.JobControlError``. Invalid
settings are pydantic's
``ValidationError`` (not a subclass; the CLI reports them the same way).
"""

from __future__ import annotations


class UserpulseError(Exception):
    """Root of every expected error of userpulse; the message says what to change or check."""
