package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.userpulse.flink.event.Event;
import org.junit.jupiter.api.Test;

/** Dead-letter and late payloads, and the Python reprs behind them, against the Python output. */
class PayloadsTest {

    @Test
    void deadLetterJsonIsThePythonJson() {
        for (JsonNode d : Vectors.list("dead_letter_json")) {
            String got = DeadLetterRecord.json(Vectors.bytes(d.get("key_b64")),
                    Vectors.bytes(d.get("value_b64")), d.get("topic").asText(),
                    d.get("partition").asInt(), d.get("offset").asLong(),
                    d.get("error_class").asText(), d.get("reason").asText(), d.get("now_ms").asLong());
            assertEquals(d.get("json").asText(), got);
        }
    }

    @Test
    void deadLetterBounds() {
        String atBound = DeadLetterRecord.json(null, new byte[DeadLetterRecord.MAX_VALUE_BYTES], "t",
                0, 0, "bad_framing", "r", 1);
        assertTrue(atBound.contains("\"value_truncated\": false"), atBound);
        assertTrue(atBound.contains("\"key_b64\": null"), atBound);
        String nullValue = DeadLetterRecord.json(new byte[0], null, "t", null, 0, "empty", "r", 1);
        assertTrue(nullValue.contains("\"key_b64\": \"\", \"offset\": 0, \"partition\": null"), nullValue);
        assertTrue(nullValue.endsWith("\"value_b64\": \"\", \"value_bytes\": 0, \"value_truncated\": false}"));
    }

    @Test
    void lateJsonIsThePythonJson() {
        for (JsonNode l : Vectors.list("late_json")) {
            Event e = Vectors.event(l.get("event"));
            e.topic = l.get("topic").asText();
            e.partition = l.get("partition").asInt();
            e.offset = l.get("offset").asLong();
            assertEquals(l.get("json").asText(), LateRecord.json(e,
                    l.get("watermark_ms").asLong(), l.get("allowed_lateness_ms").asLong()));
        }
    }

    @Test
    void floatReprIsPythons() {
        for (JsonNode f : Vectors.list("float_repr")) {
            double d = Double.longBitsToDouble(f.get("bits").asLong());
            assertEquals(f.get("repr").asText(), PyJson.floatRepr(d), "bits " + f.get("bits"));
        }
    }

    @Test
    void bytesReprIsPythons() {
        for (JsonNode b : Vectors.list("bytes_repr")) {
            byte[] bytes = Vectors.bytes(b.get("b64"));
            assertEquals(b.get("repr").asText(), PyJson.bytesRepr(bytes, bytes.length));
        }
    }
}
