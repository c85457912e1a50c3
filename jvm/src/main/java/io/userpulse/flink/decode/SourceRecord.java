package io.userpulse.flink.decode;

import java.util.Objects;

/**
 * One Kafka record as the source hands it on, decoded once ({@link EventDeserializer}): its
 * position, its bytes and the outcome of decode + validation + key check. The watermark strategy
 * ({@link io.userpulse.flink.AvroEventTime}) reads the event time of the outcome; the decode step
 * ({@link DecodeFunction}) passes the event on or dead-letters the record.
 */
public final class SourceRecord {

    /** The Kafka record key, or null. */
    public final byte[] key;
    /** The Kafka record value, or null for a tombstone. */
    public final byte[] value;
    /** Source topic. */
    public final String topic;
    /** Source partition. */
    public final int partition;
    /** Source offset. */
    public final long offset;
    /** Decode outcome; null for a tombstone (nothing to decode). */
    public final DecodeResult result;

    /**
     * @param key record key or null
     * @param value record value or null (tombstone)
     * @param topic source topic (not null)
     * @param partition source partition
     * @param offset source offset
     * @param result the decode outcome; null exactly when {@code value} is null
     * @throws IllegalArgumentException if {@code result} is null for a value or set for a
     *     tombstone
     */
    public SourceRecord(byte[] key, byte[] value, String topic, int partition, long offset,
            DecodeResult result) {
        if ((value == null) != (result == null)) {
            throw new IllegalArgumentException("a decode result goes with a value, none with a "
                    + "tombstone");
        }
        this.key = key;
        this.value = value;
        this.topic = Objects.requireNonNull(topic, "topic");
        this.partition = partition;
        this.offset = offset;
        this.result = result;
    }

    /** True for a record the job counts (a valid event): only these move the watermark. */
    public boolean isEvent() {
        return result != null && result.isOk();
    }
}
