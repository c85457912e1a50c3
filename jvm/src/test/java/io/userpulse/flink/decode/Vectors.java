package io.userpulse.flink.decode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The golden vectors written by the Python codec ({@code tests/unit/test_jvm_decode_vectors.py}
 * generates {@code decode/vectors.json}; a pytest keeps it equal to a fresh generation).
 */
final class Vectors {

    static final JsonNode DOC = load();
    static final long NOW_MS = DOC.get("now_ms").asLong();
    static final long MAX_FUTURE_MS = DOC.get("max_future_ms").asLong();

    private Vectors() {}

    private static JsonNode load() {
        try (InputStream in = Vectors.class.getResourceAsStream("/decode/vectors.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String schema(String name) {
        return DOC.get("schemas").get(name).toString();
    }

    static String fingerprint(String name) {
        return DOC.get("fingerprints").get(name).asText();
    }

    /** The reader schema JSON of a named decoder configuration. */
    static String reader(String decoder) {
        return schema(DOC.get("decoders").get(decoder).get("reader").asText());
    }

    /** The writer schemas (by fingerprint) of a named decoder configuration. */
    static Map<String, String> writers(String decoder) {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode w : DOC.get("decoders").get(decoder).get("writers")) {
            out.put(fingerprint(w.asText()), schema(w.asText()));
        }
        return out;
    }

    static EventDecoder eventDecoder(String decoder) {
        return new EventDecoder(reader(decoder), writers(decoder),
                DOC.get("decoders").get(decoder).get("max_record_bytes").asInt());
    }

    /** Decode + validate + key check with the vectors' fixed clock. */
    static RecordDecoder recordDecoder(String decoder) {
        return new RecordDecoder(eventDecoder(decoder), new EventValidator(MAX_FUTURE_MS),
                () -> NOW_MS);
    }

    /** The Kafka source's deserializer of {@code decoding}'s configuration, opened. */
    static EventDeserializer source(DecodeFunction decoding) {
        EventDeserializer d = new EventDeserializer(decoding);
        d.open(null);
        return d;
    }

    static List<JsonNode> list(String name) {
        List<JsonNode> out = new ArrayList<>();
        DOC.get(name).forEach(out::add);
        return out;
    }

    static byte[] bytes(JsonNode node) {
        return node == null || node.isNull() ? null : Base64.getDecoder().decode(node.asText());
    }

    static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    static Long longOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asLong();
    }

    /** The event of a vector's {@code event} object (Python field names). */
    static Event event(JsonNode j) {
        Event e = new Event();
        e.eventId = text(j.get("event_id"));
        e.eventType = EventType.valueOf(j.get("event_type").asText());
        e.userId = text(j.get("user_id"));
        e.eventTimeMs = j.get("event_time_ms").asLong();
        e.itemId = text(j.get("item_id"));
        e.position = longOrNull(j.get("position"));
        e.dwellMs = longOrNull(j.get("dwell_ms"));
        e.scrollDepth = j.get("scroll_depth").isNull() ? null : j.get("scroll_depth").asDouble();
        e.row = longOrNull(j.get("row"));
        e.scrollPx = longOrNull(j.get("scroll_px"));
        return e;
    }

    /** The payload fields of an event as one comparable string. */
    static String fields(Event e) {
        return e.eventId + "|" + e.eventType + "|" + e.userId + "|" + e.eventTimeMs + "|"
                + e.itemId + "|" + e.position + "|" + e.dwellMs + "|" + e.scrollDepth + "|"
                + e.row + "|" + e.scrollPx;
    }
}
