package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventDecoderTest {

    private static final String V1 = Vectors.schema("v1");
    private static final String V2 = Vectors.schema("v2");

    private static byte[] valueOf(String name) {
        for (JsonNode v : Vectors.list("valid")) {
            if (v.get("name").asText().equals(name)) {
                return Vectors.bytes(v.get("value_b64"));
            }
        }
        for (JsonNode v : Vectors.list("malformed")) {
            if (v.get("name").asText().equals(name)) {
                return Vectors.bytes(v.get("value_b64"));
            }
        }
        throw new IllegalArgumentException(name);
    }

    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h);
    }

    @Test
    void fingerprintIsPinned() {
        assertEquals("22326ba50b7ae27e", EventDecoder.fingerprintHex(V1));
        assertEquals(Vectors.fingerprint("v2"), EventDecoder.fingerprintHex(V2));
    }

    @Test
    void goldenBytesOfTheCodecTests() {
        EventDecoder d = new EventDecoder(V1, Map.of(), EventDecoder.DEFAULT_MAX_RECORD_BYTES);
        DecodeResult hover = d.decode(
                hex("c30122326ba50b7ae27e046531047531d097debafa630473310204693900000004b817"));
        assertTrue(hover.isOk(), hover.toString());
        assertEquals("e1|HOVER|u1|1717243201000|i9|null|1500|null|null|null",
                Vectors.fields(hover.event()));
        DecodeResult click = d.decode(
                hex("c30122326ba50b7ae27e046533047533f0b6debafa6304733300000000000204"));
        assertEquals("e3|CLICK|u3|1717243203000|null|2|null|null|null|null",
                Vectors.fields(click.event()));
    }

    @Test
    void oneBadRecordDoesNotPoisonTheDecoder() { // case H07: the order of its setup
        RecordDecoder d = Vectors.recordDecoder("default");
        String[] order = {"click_all_optional", "bad_union_index", "hover_minimal",
            "truncated_to_7_bytes", "bad_utf8_user_id", "dwell_negative", "scroll_both",
            "overlong_varint_dwell", "truncated_in_string", "user_emoji"};
        String[] want = {null, "bad_avro", null, "bad_framing", "bad_utf8", "invalid_field", null,
            "bad_avro", "bad_avro", null};
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < order.length; i++) {
                DecodeResult r = d.decode(null, valueOf(order[i]), "t", 0, i);
                assertEquals(want[i], r.isOk() ? null : r.errorClass().code(), order[i]);
            }
        }
    }

    @Test
    void evolutionBothWays() { // case H10
        byte[] v1Data = valueOf("hover_minimal");
        byte[] v2Data = Vectors.bytes(Vectors.list("valid").stream()
                .filter(v -> v.get("name").asText().equals("new_job_v2")).findFirst().get()
                .get("value_b64"));
        String fp2 = Vectors.fingerprint("v2");
        String fp1 = Vectors.fingerprint("v1");
        EventDecoder newJob = new EventDecoder(V2, Map.of(fp1, V1, fp2, V2), 65_536);
        // the reader schema is always known as a writer, further ones only when configured
        assertEquals(ErrorClass.UNKNOWN_SCHEMA,
                new EventDecoder(V2, Map.of(), 65_536).decode(v1Data).errorClass());
        EventDecoder oldJob = new EventDecoder(V1, Map.of(fp2, V2), 65_536);
        EventDecoder unaware = new EventDecoder(V1, Map.of(), 65_536);
        assertEquals(500L, newJob.decode(v1Data).event().dwellMs);
        assertEquals(1500L, newJob.decode(v2Data).event().dwellMs);
        assertEquals(500L, oldJob.decode(v1Data).event().dwellMs);
        assertEquals(1500L, oldJob.decode(v2Data).event().dwellMs);
        assertEquals(ErrorClass.UNKNOWN_SCHEMA, unaware.decode(v2Data).errorClass());
        assertTrue(unaware.decode(v2Data).reason().endsWith(fp2));
    }

    @Test
    void aWrongFingerprintIsAConfigurationError() {
        assertThrows(IllegalArgumentException.class,
                () -> new EventDecoder(V1, Map.of("0000000000000000", V2), 100));
        assertThrows(IllegalArgumentException.class,
                () -> new EventDecoder(V1, Map.of(), 0));
        assertThrows(IllegalArgumentException.class,
                () -> new EventDecoder("{\"type\": \"nope\"}", Map.of(), 100));
        assertThrows(IllegalArgumentException.class,
                () -> new EventDecoder("{\"type\": \"record\", \"name\": \"X\", \"fields\": []}",
                        Map.of(), 100));
    }

    @Test
    void nullValueIsEmpty() {
        EventDecoder d = Vectors.eventDecoder("default");
        assertEquals(ErrorClass.EMPTY, d.decode(null).errorClass());
    }

    @Test
    void everyTruncationIsAFailureNotAnException() {
        EventDecoder d = Vectors.eventDecoder("default");
        for (String name : new String[] {"click_all_optional", "scroll_both", "user_128_bytes"}) {
            byte[] good = valueOf(name);
            for (int n = 0; n < good.length; n++) {
                DecodeResult r = d.decode(Arrays.copyOf(good, n));
                assertFalse(r.isOk(), name + " cut to " + n);
            }
            assertTrue(d.decode(good).isOk());
        }
    }

    @Test
    void randomMutationsNeverThrow() {
        EventDecoder d = Vectors.eventDecoder("new_job");
        byte[] good = valueOf("click_all_optional");
        Random rnd = new Random(11);
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = good.clone();
            for (int f = 1 + rnd.nextInt(3); f > 0; f--) {
                b[10 + rnd.nextInt(b.length - 10)] = (byte) rnd.nextInt(256);
            }
            DecodeResult r = d.decode(b);
            assertNotNull(r);
            ok += r.isOk() ? 1 : 0;
        }
        assertTrue(d.decode(good).isOk());
        assertTrue(ok < 20_000);
    }

    @Test
    void randomBodiesNeverThrow() {
        EventDecoder d = Vectors.eventDecoder("default");
        byte[] header = Arrays.copyOf(valueOf("hover_minimal"), 10);
        Random rnd = new Random(5);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = Arrays.copyOf(header, 10 + rnd.nextInt(60));
            for (int j = 10; j < b.length; j++) {
                b[j] = (byte) rnd.nextInt(256);
            }
            assertNotNull(d.decode(b).toString());
        }
    }

    @Test
    void confluentFramingWithARegistry() throws IOException { // case H09, prepared
        byte[] body = Arrays.copyOfRange(valueOf("hover_minimal"), 10, valueOf("hover_minimal").length);
        byte[] known = new byte[5 + body.length];
        known[4] = 7;
        System.arraycopy(body, 0, known, 5, body.length);
        byte[] unknown = known.clone();
        unknown[3] = 0x27; // id 9999
        unknown[4] = 0x0F;
        SchemaRegistryLookup registry = id -> id == 7 ? V1 : null;
        EventDecoder d = new EventDecoder(V1, Map.of(), 65_536, registry);
        assertEquals(500L, d.decode(known).event().dwellMs);
        DecodeResult r = d.decode(unknown);
        assertEquals(ErrorClass.UNKNOWN_SCHEMA, r.errorClass());
        assertEquals("unknown schema id 9999", r.reason());
        assertEquals(ErrorClass.BAD_FRAMING, d.decode(hex("00000007")).errorClass());
        assertEquals(ErrorClass.BAD_AVRO, d.decode(hex("0000000007")).errorClass());
        EventDecoder down = new EventDecoder(V1, Map.of(), 65_536, id -> {
            throw new IOException("503");
        });
        assertThrows(UncheckedIOException.class, () -> down.decode(known)); // an outage is no bad record
        // without a registry, Confluent framing is bad_framing
        assertEquals(ErrorClass.BAD_FRAMING, Vectors.eventDecoder("default").decode(known).errorClass());
    }
}
