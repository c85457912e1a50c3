package io.userpulse.flink.tiles;

import io.userpulse.flink.profile.PyRepr;
import java.math.BigInteger;

/**
 * The v1 tile value of the Redis layout, byte-identical to {@code userpulse.layout.encode_tile}:
 * {@code n;value_1;...;value_k;max_event_time_ms}. Integers in decimal; doubles as Python's
 * {@code repr(float)} ({@link PyRepr#floatRepr}); an empty value as the empty string (a max with
 * no value, no max event time); a double sum before its first value as {@code 0} (Python keeps the
 * integer 0); a sketch as base64 of its hashes as big-endian uint32 ({@code sketch.encode}).
 */
public final class TileCodec {

    private TileCodec() {}

    /** The v1 tile value of {@code t}. */
    public static String encode(Tile t) {
        StringBuilder sb = new StringBuilder(64);
        appendTo(sb, t);
        return sb.toString();
    }

    /** Appends the v1 tile value of {@code t} to {@code sb}. */
    public static void appendTo(StringBuilder sb, Tile t) {
        sb.append(t.n);
        TileShape shape = t.shape;
        for (int i = 0; i < shape.size(); i++) {
            sb.append(';');
            long bit = 1L << i;
            switch (shape.kind(i)) {
                case TileShape.COUNT -> sb.append(t.values[i]);
                case TileShape.SUM_LONG -> {
                    BigInteger b = t.big == null ? null : t.big[i];
                    if (b != null) {
                        sb.append(b);
                    } else {
                        sb.append(t.values[i]);
                    }
                }
                case TileShape.SUM_DOUBLE -> {
                    if ((t.present & bit) == 0) {
                        sb.append('0');
                    } else {
                        PyRepr.appendFloat(sb, Double.longBitsToDouble(t.values[i]));
                    }
                }
                case TileShape.MAX_LONG -> {
                    if ((t.present & bit) != 0) {
                        sb.append(t.values[i]);
                    }
                }
                case TileShape.MAX_DOUBLE -> {
                    if ((t.present & bit) != 0) {
                        PyRepr.appendFloat(sb, Double.longBitsToDouble(t.values[i]));
                    }
                }
                default -> {
                    t.sketches[i].appendBase64(sb);
                }
            }
        }
        sb.append(';');
        if (t.hasMaxEventTime) {
            sb.append(t.maxEventTimeMs);
        }
    }
}
