package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.userpulse.flink.event.Event;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden vector of the Python codec: valid records decode to the same event, bad ones
 * to the expected error class (one test per malformed kind), with the Python reasons. */
class EventDecoderVectorsTest {

    static Stream<Arguments> valid() {
        return Vectors.list("valid").stream().map(v -> Arguments.of(v.get("name").asText(), v));
    }

    static Stream<Arguments> malformed() {
        return Vectors.list("malformed").stream()
                .map(v -> Arguments.of(v.get("case").asText() + " " + v.get("name").asText(), v));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valid")
    void validRecordDecodesToThePythonEvent(String name, JsonNode v) {
        RecordDecoder d = Vectors.recordDecoder(v.get("decoder").asText());
        DecodeResult r = d.decode(Vectors.bytes(v.get("key_b64")), Vectors.bytes(v.get("value_b64")),
                "events", 2, 77L);
        assertTrue(r.isOk(), name + ": " + r);
        Event want = Vectors.event(v.get("event"));
        assertEquals(Vectors.fields(want), Vectors.fields(r.event()));
        assertEquals("events", r.event().topic);
        assertEquals(2, r.event().partition);
        assertEquals(77L, r.event().offset);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedRecordHasItsErrorClass(String name, JsonNode v) {
        RecordDecoder d = Vectors.recordDecoder(v.get("decoder").asText());
        DecodeResult r = d.decode(Vectors.bytes(v.get("key_b64")), Vectors.bytes(v.get("value_b64")),
                "events", 0, 1L);
        assertFalse(r.isOk(), name + " decoded: " + r);
        assertEquals(v.get("error_class").asText(), r.errorClass().code(), name + ": " + r.reason());
        String pythonReason = Vectors.text(v.get("python_reason"));
        String exact = Vectors.text(v.get("reason"));
        if (exact != null) { // validation and key reasons: character for character
            assertEquals(exact, r.reason());
        } else if ("bad_avro".equals(Vectors.text(v.get("python_error_class")))) {
            assertEquals(pythonReason, r.reason()); // schemas/strict.py reasons are the JVM's
        } else if (pythonReason == null || pythonReason.startsWith("avro body unreadable: ")) {
            assertTrue(r.reason().startsWith("avro body unreadable: "), r.reason());
        } else { // framing, size, schema, trailing: the Python reason itself
            assertEquals(pythonReason, r.reason());
        }
    }

    @Test
    void fuzzCorpusIsJudgedAsByPython() {
        RecordDecoder d = Vectors.recordDecoder("default");
        int accepted = 0;
        for (JsonNode v : Vectors.list("fuzz")) {
            String name = v.get("name").asText();
            DecodeResult r = d.decode(null, Vectors.bytes(v.get("value_b64")), "events", 0, 1L);
            if (v.get("event").isNull()) {
                assertFalse(r.isOk(), name + " decoded: " + r);
                assertEquals(v.get("error_class").asText(), r.errorClass().code(), name + ": " + r);
            } else {
                assertTrue(r.isOk(), name + ": " + r);
                assertEquals(Vectors.fields(Vectors.event(v.get("event"))), Vectors.fields(r.event()));
                accepted++;
            }
        }
        assertTrue(accepted > 0);
    }

    @Test
    void everyMalformedKindOfThePythonTestsAndCasesIsCovered() {
        java.util.Set<String> names = new java.util.HashSet<>();
        java.util.Set<String> classes = new java.util.HashSet<>();
        for (JsonNode v : Vectors.list("malformed")) {
            names.add(v.get("name").asText());
            classes.add(v.get("error_class").asText());
        }
        for (String kind : new String[] {"bad_union_index", "truncated_to_7_bytes", "truncated_body",
                "bad_utf8_user_id", "trailing_byte", "empty", "zero_byte", "header_only",
                "unknown_fingerprint", "v2_writer_unknown", "confluent_unknown_id", "too_large",
                "dwell_negative", "overlong_varint_dwell", "overlong_varint_event_time",
                "event_time_bit_64_set", "overlong_varint_string_length", "varint_11_bytes",
                "negative_string_length", "string_length_past_the_record",
                "dwell_min_long_in_10_bytes", "event_time_seconds", "key_mismatch"}) {
            assertTrue(names.contains(kind), kind);
        }
        for (ErrorClass c : ErrorClass.values()) {
            assertTrue(classes.contains(c.code()), "no vector of class " + c.code());
        }
        assertNotNull(Vectors.DOC.get("valid").get(0));
    }
}
