package io.userpulse.flink.decode;

import java.util.Arrays;
import java.util.Base64;

/**
 * The dead-letter payload of a record that cannot become an event (design section 6): the
 * original bytes (base64, bounded), where the record came from and why it was rejected. Same JSON
 * as {@code jobs/records.py::dead_letter_json}, byte for byte: {@code json.dumps(...,
 * sort_keys=True)} with Python's default separators and ASCII escapes. Keys: {@code
 * dead_lettered_at_ms, error_class, key_b64, offset, partition, reason, topic, value_b64,
 * value_bytes, value_truncated}.
 */
public final class DeadLetterRecord {

    /** Key bytes kept on a dead-letter record (the rest is cut). */
    public static final int MAX_KEY_BYTES = 1024;

    /** Value bytes kept on a dead-letter record (the rest is cut and {@code value_truncated}). */
    public static final int MAX_VALUE_BYTES = 16_384;

    private DeadLetterRecord() {}

    /**
     * @param key the record key, or null ({@code key_b64: null})
     * @param value the record value, or null (as zero bytes)
     * @param topic source topic
     * @param partition source partition (null: {@code null})
     * @param offset source offset
     * @param errorClass stable error class ({@link ErrorClass#code()})
     * @param reason human-readable reason
     * @param nowMs the dead-letter time, UTC epoch ms ({@code dead_lettered_at_ms})
     * @return the JSON text (ASCII only)
     */
    public static String json(byte[] key, byte[] value, String topic, Integer partition,
            long offset, String errorClass, String reason, long nowMs) {
        byte[] v = value == null ? new byte[0] : value;
        Base64.Encoder b64 = Base64.getEncoder();
        StringBuilder out = new StringBuilder(128 + v.length * 4 / 3);
        out.append("{\"dead_lettered_at_ms\": ").append(nowMs);
        PyJson.string(out.append(", \"error_class\": "), errorClass);
        out.append(", \"key_b64\": ");
        if (key == null) {
            out.append("null");
        } else {
            out.append('"').append(b64.encodeToString(
                    key.length > MAX_KEY_BYTES ? Arrays.copyOf(key, MAX_KEY_BYTES) : key)).append('"');
        }
        out.append(", \"offset\": ").append(offset);
        out.append(", \"partition\": ").append(partition == null ? "null" : partition.toString());
        PyJson.string(out.append(", \"reason\": "), reason);
        PyJson.string(out.append(", \"topic\": "), topic);
        out.append(", \"value_b64\": \"").append(b64.encodeToString(
                v.length > MAX_VALUE_BYTES ? Arrays.copyOf(v, MAX_VALUE_BYTES) : v)).append('"');
        out.append(", \"value_bytes\": ").append(v.length);
        out.append(", \"value_truncated\": ").append(v.length > MAX_VALUE_BYTES);
        return out.append('}').toString();
    }
}
