package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.userpulse.flink.AvroEventTime;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.Random;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

/**
 * The source's timestamp assigner: only records the decode step counts move the watermark
 * (cases H24, H25: every rejection reason of the golden vectors), and no further than job clock +
 * {@code max_clock_skew_ms} (case H26).
 */
class AvroEventTimeTest {

    private static final long NOW = Vectors.NOW_MS;
    private static final long SKEW = AvroEventTime.DEFAULT_MAX_CLOCK_SKEW_MS;
    private static final long HOUR = 3_600_000L;

    private static JsonNode vector(String list, String name) {
        return Vectors.list(list).stream().filter(v -> v.get("name").asText().equals(name))
                .findFirst().orElseThrow();
    }

    private static Long time(String decoder, byte[] key, byte[] value, long skew) {
        DecodeResult r = value == null ? null
                : Vectors.recordDecoder(decoder).decode(key, value, "", -1, -1L);
        return AvroEventTime.watermarkTime(r, NOW, skew);
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long z = (v << 1) ^ (v >> 63);
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
        return out.toByteArray();
    }

    /** {@code record} with its event_time {@code from} replaced by {@code to} (same varint size). */
    static byte[] withEventTime(byte[] record, long from, long to) {
        byte[] a = varint(from);
        byte[] b = varint(to);
        assertEquals(a.length, b.length);
        byte[] out = record.clone();
        for (int i = 0; i + a.length <= out.length; i++) {
            if (java.util.Arrays.equals(out, i, i + a.length, a, 0, a.length)) {
                System.arraycopy(b, 0, out, i, b.length);
                return out;
            }
        }
        throw new AssertionError("event time not found");
    }

    @Test
    void everyValidVectorMovesTheWatermarkToItsEventTime() {
        for (JsonNode v : Vectors.list("valid")) {
            long t = v.get("event").get("event_time_ms").asLong();
            Long got = time(v.get("decoder").asText(), Vectors.bytes(v.get("key_b64")),
                    Vectors.bytes(v.get("value_b64")), Long.MAX_VALUE);
            assertEquals(t, got, v.get("name").asText());
        }
    }

    @Test
    void everyRejectedVectorLeavesTheWatermark() {
        int n = 0;
        for (JsonNode v : Vectors.list("malformed")) {
            assertNull(time(v.get("decoder").asText(), Vectors.bytes(v.get("key_b64")),
                    Vectors.bytes(v.get("value_b64")), SKEW), v.get("name").asText());
            n++;
        }
        assertTrue(n >= 40, "vectors: " + n);
        assertNull(time("default", null, null, SKEW)); // tombstone
    }

    @Test
    void h25InvalidHoverFarAheadLeavesTheWatermark() {
        JsonNode bad = vector("malformed", "dwell_negative"); // HOVER, dwell_ms -5, T0 + 2 s
        byte[] ahead = withEventTime(Vectors.bytes(bad.get("value_b64")),
                Vectors.NOW_MS - HOUR + 2_000, NOW + 20 * HOUR);
        assertNull(time("default", "u1".getBytes(), ahead, SKEW));
        // control: the same record with a valid dwell would have moved it (to the cap)
        JsonNode ok = vector("valid", "hover_minimal");
        byte[] valid = withEventTime(Vectors.bytes(ok.get("value_b64")),
                Vectors.NOW_MS - HOUR + 2_000, NOW + 20 * HOUR);
        assertEquals(NOW + SKEW, time("default", null, valid, SKEW));
    }

    @Test
    void h26FastClockIsCappedAtClockPlusSkew() {
        byte[] click = Vectors.bytes(vector("valid", "click_minimal").get("value_b64"));
        long t0 = NOW - HOUR + 1_000;
        assertEquals(NOW + SKEW, time("default", null, withEventTime(click, t0, NOW + 23 * HOUR), SKEW));
        assertEquals(NOW + SKEW, time("default", null, withEventTime(click, t0, NOW + SKEW + 1), SKEW));
        assertEquals(NOW + SKEW, time("default", null, withEventTime(click, t0, NOW + SKEW), SKEW));
        assertEquals(NOW - 2_000, time("default", null, withEventTime(click, t0, NOW - 2_000), SKEW));
        assertEquals(NOW, time("default", null, withEventTime(click, t0, NOW + 5_000), 0));
        // past the sane range (1 day): rejected, not capped
        assertNull(time("default", null, withEventTime(click, t0, NOW + 25 * HOUR), SKEW));
    }

    @Test
    void theSourceDecodesOnceAndTheAssignerJudgesWithTheWallClock() throws Exception {
        DecodeFunction decoding = new DecodeFunction(Vectors.schema("v1"), Map.of(), 65_536,
                EventValidator.DEFAULT_MAX_FUTURE_MS, 0, "127.0.0.1");
        EventDeserializer source = InstantiationUtil.clone(new EventDeserializer(decoding));
        source.open(null);
        AvroEventTime fn = InstantiationUtil.clone(new AvroEventTime(SKEW));
        assertEquals(SKEW, fn.getMaxClockSkewMs());
        byte[] click = Vectors.bytes(vector("valid", "click_minimal").get("value_b64"));
        long t0 = NOW - HOUR + 1_000;
        long before = System.currentTimeMillis();
        byte[] honest = withEventTime(click, t0, before - 2_000);
        assertEquals(before - 2_000, fn.extractTimestamp(source.decode(null, honest, "t", 0, 0), 7));
        assertEquals(AvroEventTime.NOT_COUNTED, // same value, another key: dead-lettered
                fn.extractTimestamp(source.decode("u2".getBytes(), honest, "t", 0, 1), 7));
        assertEquals(before - 2_000,
                fn.extractTimestamp(source.decode("u1".getBytes(), honest, "t", 0, 2), 7));
        long capped = fn.extractTimestamp(source.decode("u1".getBytes(),
                withEventTime(click, t0, before + 23 * HOUR), "t", 0, 3), 7);
        assertTrue(capped >= before + SKEW && capped <= System.currentTimeMillis() + SKEW);
        SourceRecord tombstone = source.decode("u1".getBytes(), null, "t", 0, 4);
        assertNull(tombstone.result);
        assertEquals(AvroEventTime.NOT_COUNTED, fn.extractTimestamp(tombstone, 7));
        assertThrows(IllegalArgumentException.class, () -> new AvroEventTime(-1));
        assertThrows(IllegalArgumentException.class, () -> fn.strategy(-1, 0));
    }

    @Test
    void decodeStepCountsCappedEventsByComparingTheRecordTimestampWithTheEventTime() {
        assertTrue(DecodeFunction.cappedAhead(NOW + SKEW, NOW + 23 * HOUR));
        assertFalse(DecodeFunction.cappedAhead(NOW, NOW));
    }

    @Test
    void randomBytesAndMutationsNeverThrow() {
        RecordDecoder d = Vectors.recordDecoder("default");
        byte[] golden = Vectors.bytes(vector("valid", "hover_all_optional").get("value_b64"));
        Random rnd = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            byte[] b;
            if (i % 2 == 0) {
                b = new byte[rnd.nextInt(40)];
                rnd.nextBytes(b);
            } else {
                b = golden.clone();
                for (int f = 1 + rnd.nextInt(3); f > 0; f--) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
            }
            Long t = AvroEventTime.watermarkTime(d.decode(null, b, "", -1, -1L), NOW, SKEW);
            assertTrue(t == null || (t >= EventValidator.MIN_EVENT_TIME_MS && t <= NOW + SKEW));
        }
    }
}
