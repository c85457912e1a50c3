"""``build_pipeline``: wires the feature job graph without executing it.

    Kafka (JVM source: each record decoded and validated once, in the source; per-partition
           event-time watermarks from the decoded payload, idleness)
      -> decode (JVM: io.userpulse.flink.decode.DecodeFunction)   -> dead-letter topic (JSON)
      -> key_by(user_id) -> features (JVM: io.userpulse.flink.operator.FeatureOperator)
                               tiles + profile in keyed state -> Redis (pipelined, versioned)
                               late events                     -> late topic (JSON)
                               a user's store errors           -> dead-letter topic (JSON)

The graph is built here, in Python; every per-event step runs in the JVM (``jvm/``), configured
from the feature catalogue through the job spec (:mod:`userpulse.jvmspec`): no event crosses into
Python. The Java classes are reached through PyFlink's Java gateway; the jar comes in with the
connector jars (:func:`userpulse.jobs.runtime.connector_jars`).

Watermarks are generated inside the Kafka source, per partition. The source's deserializer
(``io.userpulse.flink.decode.EventDeserializer``, jvm/) decodes, validates and key-checks each
record once; the watermark strategy's timestamp assigner (``io.userpulse.flink.AvroEventTime``)
reads the decoded ``event_time`` (from the payload, never the Kafka record timestamp), capped at
job clock + ``max_clock_skew_ms``, and every record the decode step dead-letters gets no time, so
a rejected record never moves the watermark and a fast clock cannot pin it. The source's
watermark is the minimum over its active partitions of (largest such time - out-of-orderness -
1 ms); a partition without records for ``idle_timeout_ms`` stops holding it back (design
section 4; unbounded runs only, see :func:`build_pipeline`).

The source reads committed records only (``isolation.level=read_committed``): records of aborted
transactions are not events; a bounded run stops at each partition's last stable offset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink
from pyflink.java_gateway import get_gateway

from userpulse import jvmspec, kafka_conf
from userpulse.settings import Settings

SOURCE_UID = "kafka-source"


def source_properties(settings: Settings) -> dict[str, str]:
    """Kafka client properties of the job's source: the bootstrap servers and the SASL / TLS
    ones of :func:`userpulse.kafka_conf.java_client_properties` ({} extra for PLAINTEXT)."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        **kafka_conf.java_client_properties(settings),
    }


def _string_sink(settings: Settings, topic: str) -> KafkaSink:
    builder = KafkaSink.builder().set_bootstrap_servers(settings.kafka_bootstrap)
    for key, value in kafka_conf.java_client_properties(settings).items():  # SASL / TLS
        builder = builder.set_property(key, value)
    return (
        builder.set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )


def jvm_classes() -> Any:
    """The py4j view of the project's Java package ``io.userpulse.flink`` (the jar must have been
    added to the environment: :func:`userpulse.jobs.runtime.create_env` does it)."""
    return get_gateway().jvm.io.userpulse.flink


def build_pipeline(
    env: StreamExecutionEnvironment,
    settings: Settings,
    bounded: bool = False,
    decoded_step: Callable[[DataStream], DataStream] | None = None,
) -> None:
    """Add the feature job's operators to ``env`` (uids are stable for savepoint compatibility).

    Args:
        env: from :func:`userpulse.jobs.runtime.create_env`.
        settings: topics, lateness, Redis, flush settings.
        bounded: stop at the topic's end offsets as of start (and flush everything before exit).
        decoded_step: an extra stateless step on the decoded records before keying (a later
            version of the job that adds a step still restores the state of an earlier one:
            case H19); it must keep the records' type (Java ``Event``) and should set its own uid.

    Raises:
        ValueError: the catalogue or the settings cannot be expressed as a job spec (the
            message names what to change).
    """
    jvm = jvm_classes()
    spec = jvm.spec.JobSpec.parse(jvmspec.job_spec_json(settings))
    graph = jvm.operator.FeatureGraph
    props = get_gateway().jvm.java.util.HashMap()
    for key, value in source_properties(settings).items():
        props.put(key, value)
    source = graph.kafkaSource(spec, settings.topic, settings.group_id, props, bounded)
    # A bounded run reads a backlog: every partition has records up to its end offset and a
    # finished partition stops holding the watermark back by itself. Idleness would let a
    # partition that merely waits for its turn (fetch order, a starved CPU) fall behind the
    # others' watermark, and its events would be judged late (case H01, variant B).
    idle_ms = 0 if bounded else settings.idle_timeout_ms
    watermarks = graph.watermarks(settings.max_clock_skew_ms, settings.out_of_orderness_ms, idle_ms)
    # the source holds the Kafka offsets (split state, enumerator state): its uid must stay
    # stable, or a savepoint of an older version of the job cannot be mapped (case H19)
    raw = env._j_stream_execution_environment.fromSource(source, watermarks, SOURCE_UID)
    raw.uid(SOURCE_UID)
    decoded = DataStream(raw.process(graph.decodeFunction(spec)))
    decoded.name("decode").uid("decode")
    dead_letters = decoded._j_data_stream.getSideOutput(graph.deadLetterTag())
    if decoded_step is not None:
        decoded = decoded_step(decoded)
    keyed = decoded._j_data_stream.keyBy(graph.userKey())
    features = DataStream(graph.features(keyed, spec))
    features.name("features").uid("features")
    # store errors of one user (a key Redis refuses: case H20) join the decode step's dead letters
    store_errors = features._j_data_stream.getSideOutput(graph.storeErrorTag())
    DataStream(dead_letters).union(DataStream(store_errors)).sink_to(
        _string_sink(settings, settings.dead_letter_topic)
    ).name("dead-letter-sink").uid("dead-letter-sink")
    DataStream(features._j_data_stream.getSideOutput(graph.lateTag())).sink_to(
        _string_sink(settings, settings.late_topic)
    ).name("late-sink").uid("late-sink")
