package io.userpulse.flink.decode;

/**
 * Why a Kafka record could not become an {@link io.userpulse.flink.event.Event}: the stable,
 * language-neutral {@code error_class} of a dead-letter record and the label of the
 * {@code userpulse_events_dead_lettered_total} counter (design sections 6 and 8).
 *
 * <p>The codes never change once released; dashboards and alerts match on them. The Python codec
 * ({@code schemas/codec.py}) reported faults inside the Avro body by Python exception name
 * ({@code IndexError}, {@code EOFError}, {@code UnicodeDecodeError}); the JVM reports
 * {@link #BAD_AVRO} and {@link #BAD_UTF8} instead.
 */
public enum ErrorClass {
    /** {@code empty}: the record value has zero bytes. */
    EMPTY("empty"),
    /** {@code too_large}: the record value is longer than the configured maximum. */
    TOO_LARGE("too_large"),
    /**
     * {@code bad_framing}: no known framing: not single-object encoding ({@code C3 01} + 8-byte
     * fingerprint), a truncated header, or Confluent framing ({@code 00} + 4-byte id) while no
     * schema registry is configured.
     */
    BAD_FRAMING("bad_framing"),
    /** {@code unknown_schema}: the writer schema's fingerprint (or registry id) is not known. */
    UNKNOWN_SCHEMA("unknown_schema"),
    /**
     * {@code bad_avro}: the body is not valid Avro for its writer schema: truncated, a header with
     * no body, negative or oversized lengths, a union index out of range, an overlong varint (more
     * than 64 bits for a long, 32 for an int), a boolean other than 0 / 1, or a writer branch the
     * reader schema cannot take.
     */
    BAD_AVRO("bad_avro"),
    /** {@code bad_utf8}: a string of the body (any field, read or skipped) is not strict UTF-8. */
    BAD_UTF8("bad_utf8"),
    /** {@code trailing_bytes}: bytes are left after the record (the decoder consumes every byte). */
    TRAILING_BYTES("trailing_bytes"),
    /**
     * {@code invalid_field}: the event decoded but a field value is not acceptable ({@link
     * EventValidator}: user id length, event time range, dwell, scroll depth / pixels).
     */
    INVALID_FIELD("invalid_field"),
    /** {@code key_mismatch}: the Kafka record key is present and is not the user id's bytes. */
    KEY_MISMATCH("key_mismatch");

    private final String code;

    ErrorClass(String code) {
        this.code = code;
    }

    /** The wire code ({@code bad_avro}, ...): dead-letter {@code error_class} and metric label. */
    public String code() {
        return code;
    }

    @Override
    public String toString() {
        return code;
    }
}
