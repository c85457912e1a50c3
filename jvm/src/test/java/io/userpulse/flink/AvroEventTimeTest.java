package io.userpulse.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AvroEventTimeTest {

    /** Single-object encoding written by schemas/codec.py (event_time 1717243201000). */
    private static final byte[] GOLDEN_SINGLE_OBJECT = HexFormat.of().parseHex(
            "c30122326ba50b7ae27e046531047531d097debafa630473310204693900000004b817");

    /** Confluent wire format written by schemas/codec.py (event_time 1717243202000). */
    private static final byte[] GOLDEN_CONFLUENT = HexFormat.of().parseHex(
            "0000000007046532047532a0a7debafa63047332000000000202000000000000e03f00");

    private static final long NOW = 1_717_243_200_000L; // 2024-06-01T12:00:00Z
    private static final long DAY = 86_400_000L;

    private final AvroEventTime fn = new AvroEventTime();

    // --- helpers: a minimal Avro writer for the first three fields --------------------------

    private static void writeLong(ByteArrayOutputStream out, long v) {
        long z = (v << 1) ^ (v >> 63);
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        writeLong(out, b.length);
        out.writeBytes(b);
    }

    private static byte[] singleObject(String eventId, String userId, long eventTime) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xC3);
        out.write(0x01);
        out.writeBytes(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        writeString(out, eventId);
        writeString(out, userId);
        writeLong(out, eventTime);
        writeString(out, "session"); // rest of the body: ignored by the extractor
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h);
    }

    // --- golden records ----------------------------------------------------------------------

    @Test
    void goldenSingleObject() {
        assertEquals(1_717_243_201_000L, fn.eval(GOLDEN_SINGLE_OBJECT));
        assertEquals(1_717_243_201_000L, AvroEventTime.extract(GOLDEN_SINGLE_OBJECT, DAY, NOW));
    }

    @Test
    void goldenConfluent() {
        assertEquals(1_717_243_202_000L, fn.eval(GOLDEN_CONFLUENT));
        assertEquals(1_717_243_202_000L, AvroEventTime.extract(GOLDEN_CONFLUENT, DAY, NOW));
    }

    @Test
    void roundTripOfWrittenRecords() {
        String longId = "x".repeat(300); // multi-byte length varint
        for (long t : new long[] {AvroEventTime.MIN_EVENT_TIME_MS, NOW, NOW + DAY}) {
            assertEquals(t, AvroEventTime.extract(singleObject("e", "u", t), DAY, NOW));
            assertEquals(t, AvroEventTime.extract(singleObject(longId, "ü", t), DAY, NOW));
            assertEquals(t, AvroEventTime.extract(singleObject("", "", t), DAY, NOW));
        }
    }

    // --- sane range ---------------------------------------------------------------------------

    @Test
    void rejectsEventTimesOutsideTheSaneRange() {
        long t = 1_717_243_201_000L;
        assertNull(AvroEventTime.extract(singleObject("e", "u", t / 1000), DAY, NOW)); // seconds
        assertNull(AvroEventTime.extract(singleObject("e", "u", t * 1000), DAY, NOW)); // micros
        assertNull(AvroEventTime.extract(singleObject("e", "u", 0), DAY, NOW));
        assertNull(AvroEventTime.extract(singleObject("e", "u", -1), DAY, NOW));
        assertNull(AvroEventTime.extract(
                singleObject("e", "u", AvroEventTime.MIN_EVENT_TIME_MS - 1), DAY, NOW));
        assertNull(AvroEventTime.extract(singleObject("e", "u", NOW + DAY + 1), DAY, NOW));
        assertNull(AvroEventTime.extract(singleObject("e", "u", Long.MAX_VALUE), DAY, NOW));
        assertNull(AvroEventTime.extract(singleObject("e", "u", Long.MIN_VALUE), DAY, NOW));
    }

    @Test
    void evalUsesTheWallClock() {
        long now = System.currentTimeMillis();
        assertEquals(now, fn.eval(singleObject("e", "u", now)));
        assertEquals(now + DAY - 60_000, fn.eval(singleObject("e", "u", now + DAY - 60_000)));
        assertNull(fn.eval(singleObject("e", "u", now + DAY + 60_000)));
        assertNull(fn.eval(singleObject("e", "u", now * 1000)));
    }

    @Test
    void maxFutureIsConfigurable() {
        long now = System.currentTimeMillis();
        AvroEventTime strict = new AvroEventTime(60_000);
        assertEquals(60_000, strict.getMaxFutureMs());
        assertEquals(DAY, fn.getMaxFutureMs());
        assertNull(strict.eval(singleObject("e", "u", now + 3_600_000)));
        assertEquals(now + 3_600_000, fn.eval(singleObject("e", "u", now + 3_600_000)));
        assertEquals(now, strict.eval(singleObject("e", "u", now)));
        // per-call tolerance overload
        assertNull(fn.eval(singleObject("e", "u", now + 3_600_000), 60_000L));
        assertEquals(now, fn.eval(singleObject("e", "u", now), 60_000L));
        assertNull(fn.eval(singleObject("e", "u", now), null));
        assertNull(fn.eval(singleObject("e", "u", now), -1L));
        // no overflow with a huge tolerance
        AvroEventTime lax = new AvroEventTime(Long.MAX_VALUE);
        assertEquals(Long.MAX_VALUE, lax.eval(singleObject("e", "u", Long.MAX_VALUE)));
        assertThrows(IllegalArgumentException.class, () -> new AvroEventTime(-1));
    }

    @Test
    void isNotDeterministic() {
        assertFalse(fn.isDeterministic());
    }

    // --- malformed input ----------------------------------------------------------------------

    @Test
    void nullAndEmpty() {
        assertNull(fn.eval(null));
        assertNull(fn.eval(new byte[0]));
        assertNull(fn.eval(null, 1L));
    }

    @Test
    void unknownOrTruncatedFraming() {
        assertNull(fn.eval(hex("01")));
        assertNull(fn.eval(hex("7b226576656e74223a317d"))); // JSON
        assertNull(fn.eval(hex("c3")));
        assertNull(fn.eval(hex("c302")));
        assertNull(fn.eval(hex("c30122326ba50b7ae27e"))); // header, no body
        assertNull(fn.eval(hex("c30122326ba5"))); // header cut
        assertNull(fn.eval(hex("00")));
        assertNull(fn.eval(hex("0000000007"))); // header, no body
    }

    @Test
    void everyTruncationOfTheGoldenRecordsIsNull() {
        for (byte[] golden : new byte[][] {GOLDEN_SINGLE_OBJECT, GOLDEN_CONFLUENT}) {
            int header = golden[0] == 0 ? 5 : 10;
            // event_id (2 + 1 bytes)... the event_time ends 6 bytes after the two 2-byte strings
            int end = header + 3 + 3 + 6;
            for (int n = 0; n < end; n++) {
                byte[] cut = java.util.Arrays.copyOf(golden, n);
                assertNull(fn.eval(cut), "prefix of " + n + " bytes");
            }
            assertEquals(fn.eval(golden), fn.eval(java.util.Arrays.copyOf(golden, end)));
        }
    }

    @Test
    void negativeAndOversizedStringLengths() {
        byte[] header = hex("c30122326ba50b7ae27e");
        assertNull(fn.eval(concat(header, hex("01")))); // length -1
        assertNull(fn.eval(concat(header, hex("0465310175")))); // user_id length -1
        assertNull(fn.eval(concat(header, hex("ffffffffffffffff7f")))); // length -2^62-ish
        assertNull(fn.eval(concat(header, hex("feffffffffffffff7f")))); // huge positive
        assertNull(fn.eval(concat(header, hex("fe0f65")))); // 1023 bytes promised, 1 given
        assertNull(fn.eval(concat(header, hex("feffffff0f")))); // Integer.MAX_VALUE bytes
    }

    @Test
    void overlongAndTruncatedVarints() {
        byte[] header = hex("c30122326ba50b7ae27e");
        byte[] strings = hex("046531047531");
        // 11-byte varint
        assertNull(fn.eval(concat(header, strings, hex("ffffffffffffffffffff01"))));
        // 10-byte varint whose last byte carries more than the 64th bit
        assertNull(fn.eval(concat(header, strings, hex("ffffffffffffffffff02"))));
        // 10 continuation bytes
        assertNull(fn.eval(concat(header, strings, hex("80808080808080808080"))));
        // varint cut short
        assertNull(fn.eval(concat(header, strings, hex("d097de"))));
        assertNull(fn.eval(concat(header, hex("8080808080808080808001"))));
        // the largest legal 10-byte varint decodes (to Long.MIN_VALUE: then range-rejected)
        assertNull(fn.eval(concat(header, strings, hex("ffffffffffffffffff01"))));
        assertEquals(Long.MIN_VALUE,
                AvroEventTime.readEventTime(concat(header, strings, hex("ffffffffffffffffff01"))));
        assertEquals(Long.MAX_VALUE,
                AvroEventTime.readEventTime(concat(header, strings, hex("feffffffffffffffff01"))));
    }

    @Test
    void randomBytesNeverThrow() {
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            byte[] b = new byte[rnd.nextInt(40)];
            rnd.nextBytes(b);
            if (b.length > 0 && rnd.nextBoolean()) {
                b[0] = rnd.nextBoolean() ? 0 : (byte) 0xC3;
                if (b.length > 1 && b[0] == (byte) 0xC3) {
                    b[1] = 1;
                }
            }
            Long t = fn.eval(b); // must not throw
            if (t != null) {
                assertFalse(t < AvroEventTime.MIN_EVENT_TIME_MS);
            }
        }
    }

    @Test
    void randomMutationsOfGoldenRecordsNeverThrow() {
        Random rnd = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            byte[] b = (i % 2 == 0 ? GOLDEN_SINGLE_OBJECT : GOLDEN_CONFLUENT).clone();
            int flips = 1 + rnd.nextInt(3);
            for (int f = 0; f < flips; f++) {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            fn.eval(b);
        }
    }
}
