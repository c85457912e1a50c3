package io.userpulse.flink.decode;

import io.userpulse.flink.metrics.JobMetrics;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.flink.util.Collector;

/**
 * The Kafka source's deserializer: each record is decoded, validated and key-checked once, in the
 * source ({@link RecordDecoder}, configured by the job's {@link DecodeFunction}), and handed on as
 * a {@link SourceRecord} whatever its content: a valid event, a record to dead-letter with its
 * reason, or a tombstone. The source's watermark strategy reads the decoded event time ({@link
 * io.userpulse.flink.AvroEventTime}); the decode step splits events from dead letters.
 *
 * <p>Every decode is timed in {@code userpulse_decode_seconds}. With a schema registry, a
 * registry that fails, refuses or does not answer within its timeout is not a bad record (case
 * H09): the same record is decoded again after a backoff ({@link #RETRY_FIRST_MS} doubling up to
 * {@link #RETRY_MAX_MS}), each failure counted in {@code userpulse_schema_registry_retries_total},
 * until the registry answers. The source waits meanwhile (Kafka is not read further, no later
 * record moves the watermark; nothing is skipped or dead-lettered). The metrics are those of the
 * task's decode step ({@link JobMetrics#shared()}: this class never starts an endpoint).
 *
 * <p>Uses the wall clock ({@code System.currentTimeMillis()}) as the job's clock. Never throws
 * for a record's content.
 */
public final class EventDeserializer implements KafkaRecordDeserializationSchema<SourceRecord> {

    private static final long serialVersionUID = 1L;

    /** First wait after a failed registry lookup, ms. */
    public static final long RETRY_FIRST_MS = 100;

    /** Longest wait between registry lookups, ms. */
    public static final long RETRY_MAX_MS = 5_000;

    private final DecodeFunction decoding;
    private transient RecordDecoder decoder;
    private transient JobMetrics metrics;

    /**
     * @param decoding the job's decode step, whose configuration (schemas, registry, record size
     *     bound, sane event-time range) judges each record; it is not run here
     */
    public EventDeserializer(DecodeFunction decoding) {
        this.decoding = Objects.requireNonNull(decoding, "decoding");
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        decoder = decoding.newRecordDecoder(System::currentTimeMillis);
        metrics = JobMetrics.shared();
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<SourceRecord> out)
            throws IOException {
        out.collect(decode(record.key(), record.value(), record.topic(), record.partition(),
                record.offset()));
    }

    /**
     * Decodes one record (see the class doc); {@link #open} first.
     *
     * @param key record key or null
     * @param value record value or null (a tombstone: not decoded)
     * @param topic source topic
     * @param partition source partition
     * @param offset source offset
     * @return the record with its decode outcome
     * @throws InterruptedIOException interrupted while waiting for the registry (the task is
     *     being cancelled)
     */
    public SourceRecord decode(byte[] key, byte[] value, String topic, int partition,
            long offset) throws InterruptedIOException {
        if (value == null) {
            return new SourceRecord(key, null, topic, partition, offset, null);
        }
        long t0 = System.nanoTime();
        DecodeResult r = decodeRetrying(key, value, topic, partition, offset);
        metrics.decodeSeconds().observe((System.nanoTime() - t0) / 1e9);
        return new SourceRecord(key, value, topic, partition, offset, r);
    }

    private DecodeResult decodeRetrying(byte[] key, byte[] value, String topic, int partition,
            long offset) throws InterruptedIOException {
        long waitMs = RETRY_FIRST_MS;
        while (true) {
            try {
                return decoder.decode(key, value, topic, partition, offset);
            } catch (UncheckedIOException registryDown) {
                metrics.schemaRegistryRetries().inc();
                try {
                    Thread.sleep(waitMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("cancelled while the schema registry is down");
                }
                waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
            }
        }
    }

    @Override
    public TypeInformation<SourceRecord> getProducedType() {
        return TypeInformation.of(SourceRecord.class);
    }
}
