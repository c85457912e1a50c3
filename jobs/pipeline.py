"""``build_pipeline``: wires the feature job graph without executing it.

    Kafka (Table API source: raw bytes + topic/partition/offset metadata; per-partition
           event-time watermarks from the payload, idleness)
      -> decode (JVM: io.userpulse.flink.decode.DecodeFunction)   -> dead-letter topic (JSON)
      -> key_by(user_id) -> features (JVM: io.userpulse.flink.operator.FeatureOperator)
                               tiles + profile in keyed state -> Redis (pipelined, versioned)
                               late events                     -> late topic (JSON)
                               a user's store errors           -> dead-letter topic (JSON)

The graph is built here, in Python; every per-event step runs in the JVM (``jvm/``), configured
from the feature catalogue through the job spec (:mod:`userpulse.jvmspec`): no event crosses into
Python. The Java classes are reached through PyFlink's Java gateway; the jar comes in with the
connector jars (:func:`userpulse.jobs.runtime.connector_jars`).

Watermarks are generated inside the Kafka source, per partition: the JVM function
``io.userpulse.flink.AvroEventTime`` (jvm/) runs each record through the decode step's own decoder
and validation and returns its ``event_time`` (from the payload, never the Kafka record
timestamp), capped at job clock + ``max_clock_skew_ms``, or NULL for every record the decode step
dead-letters, so a rejected record never moves the watermark and a fast clock cannot pin it. The
source's watermark is the minimum over its active partitions of (largest such time -
out-of-orderness - 1 ms); a partition without records for ``idle_timeout_ms`` stops holding it
back (design section 4; unbounded runs only, see :func:`source_ddl`).

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
from pyflink.table import StreamTableEnvironment

from userpulse import jvmspec, kafka_conf
from userpulse.settings import Settings

SOURCE_TABLE = "userpulse_source"
EVENT_TIME_FUNCTION = "userpulse_event_time"


def source_ddl(settings: Settings, bounded: bool) -> str:
    """Flink SQL DDL of the Kafka source: key/value as raw bytes, with record metadata."""
    opts = {
        "connector": "kafka",
        "topic": settings.topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        "properties.group.id": settings.group_id,
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        "scan.topic-partition-discovery.interval": "10 s",
        # records of aborted (and still open) transactions are not events (case H23)
        "properties.isolation.level": "read_committed",
        # SASL / TLS (docs/deploy.md); {} for PLAINTEXT. Flink masks 'jaas.config' values in logs.
        **{f"properties.{k}": v for k, v in kafka_conf.java_client_properties(settings).items()},
    }
    if bounded:
        # A bounded run reads a backlog: every partition has records up to its end offset and
        # a finished partition stops holding the watermark back by itself. Idleness would let
        # a partition that merely waits for its turn (fetch order, a starved CPU) fall behind
        # the others' watermark, and its events would be judged late (case H01, variant B).
        opts["scan.bounded.mode"] = "latest-offset"
    else:
        opts["scan.watermark.idle-timeout"] = f"{settings.idle_timeout_ms} ms"
    # SQL string literals: a quote is doubled (a JAAS password may hold one)
    with_ = ",\n  ".join("'{}' = '{}'".format(k, v.replace("'", "''")) for k, v in opts.items())
    # watermark = event time (NULL for rejected records: time 0) - out-of-orderness - 1 ms
    lag_s = f"{(settings.out_of_orderness_ms + 1) / 1000:.3f}"
    return (
        f"CREATE TEMPORARY TABLE {SOURCE_TABLE} (\n"
        "  k BYTES, v BYTES,\n"
        "  `topic` STRING METADATA VIRTUAL,\n"
        "  `partition` INT METADATA VIRTUAL,\n"
        "  `offset` BIGINT METADATA VIRTUAL,\n"
        f"  rt AS TO_TIMESTAMP_LTZ(COALESCE({EVENT_TIME_FUNCTION}(k, v), 0), 3),\n"
        f"  WATERMARK FOR rt AS rt - INTERVAL '{lag_s}' SECOND\n"
        f") WITH (\n  {with_}\n)"
    )


def set_source_uids(stream: DataStream) -> list[str]:
    """Give the table planner's transformations behind ``stream`` stable uids.

    The Kafka table source and the planner's conversion steps carry no uid (the planner sets
    them only for compiled plans), so their operator ids would be hashes of the graph's shape and
    could change when the job changes. The source holds the Kafka offsets (split state and the
    enumerator's coordinator state): its uid must be stable, or a savepoint of an older version
    of the job cannot be mapped and the job refuses to start (case H19). The source gets
    ``kafka-source``; the stateless steps between it and ``stream`` get ``source-<depth>``
    (depth 0 = ``stream``'s own transformation).

    Returns:
        The uids set, from ``stream`` up to the source.
    """
    uids = []
    todo = [(stream._j_data_stream.getTransformation(), 0)]
    while todo:
        t, depth = todo.pop()
        uid = (
            "kafka-source"
            if "SourceTransformation" in t.getClass().getSimpleName()
            else (f"source-{depth}")
        )
        t.setUid(uid)
        uids.append(uid)
        todo.extend((i, depth + 1) for i in t.getInputs())
    return uids


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
    t_env = StreamTableEnvironment.create(env)
    # an instance, not a class name: it carries the decode step's configuration
    t_env._j_tenv.createTemporarySystemFunction(
        EVENT_TIME_FUNCTION, graph.eventTimeFunction(spec, settings.max_clock_skew_ms)
    )
    t_env.execute_sql(source_ddl(settings, bounded))
    raw = t_env.to_data_stream(t_env.from_path(SOURCE_TABLE))
    set_source_uids(raw)
    decoded = DataStream(raw._j_data_stream.process(graph.decodeFunction(spec)))
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
