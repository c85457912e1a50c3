package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * One Kafka record -> a valid {@link Event} with its source position, or the reason it goes to
 * the dead-letter topic: decode ({@link EventDecoder}), validate ({@link EventValidator}), check
 * the key, in that order (as {@code jobs/records.py::decode_record}). Not thread-safe.
 */
public final class RecordDecoder {

    private final EventDecoder decoder;
    private final EventValidator validator;
    private final LongSupplier clockMs;

    /**
     * @param decoder the bytes -> event decoder
     * @param validator the field checks
     * @param clockMs the job's clock, UTC epoch ms ({@code System::currentTimeMillis} in the job;
     *     a fixed value in tests)
     */
    public RecordDecoder(EventDecoder decoder, EventValidator validator, LongSupplier clockMs) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.validator = Objects.requireNonNull(validator, "validator");
        this.clockMs = Objects.requireNonNull(clockMs, "clockMs");
    }

    /**
     * @param key the record key (null: not checked)
     * @param value the record value (not null: tombstones are the caller's)
     * @param topic source topic, set on the event
     * @param partition source partition, set on the event
     * @param offset source offset, set on the event
     * @return the event, or {@code invalid_field} / {@code key_mismatch} / a decode error class
     *     with its reason; never null, never throws for any bytes
     */
    public DecodeResult decode(byte[] key, byte[] value, String topic, int partition,
            long offset) {
        DecodeResult r = decoder.decode(value);
        if (!r.isOk()) {
            return r;
        }
        Event e = r.event();
        String reason = validator.validationError(e, clockMs.getAsLong());
        if (reason != null) {
            return DecodeResult.failure(ErrorClass.INVALID_FIELD, reason);
        }
        reason = EventValidator.keyMismatch(key, e.userId);
        if (reason != null) {
            return DecodeResult.failure(ErrorClass.KEY_MISMATCH, reason);
        }
        e.topic = topic;
        e.partition = partition;
        e.offset = offset;
        return r;
    }
}
