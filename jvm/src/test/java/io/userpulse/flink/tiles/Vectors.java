package io.userpulse.flink.tiles;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.spec.JobSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Test helper: the committed resources written by {@code tests/unit/jvm_vectors.py} (golden
 * vectors of the Python implementation, and the default job spec).
 */
public final class Vectors {

    /** Strings longer than this are stored as sha256 (tests/unit/jvm_vectors.py _INLINE_MAX). */
    public static final int INLINE_MAX = 300;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Vectors() {}

    /** A resource of {@code src/test/resources} as text. */
    public static String text(String path) {
        try (InputStream in = Vectors.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + path
                        + ": run .venv/bin/python -m tests.unit.jvm_vectors");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A resource parsed as JSON. */
    public static JsonNode json(String path) {
        try {
            return MAPPER.readTree(text(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The default job spec (spec/default.json). */
    public static JobSpec defaultSpec() {
        return JobSpec.parse(text("spec/default.json"));
    }

    /** An event of a vector ({@code _event_doc} of jvm_vectors.py). */
    public static Event event(JsonNode d) {
        Event e = new Event();
        e.eventId = d.get("id").textValue();
        e.eventType = EventType.valueOf(d.get("type").textValue());
        e.userId = d.get("user").textValue();
        e.eventTimeMs = d.get("t").longValue();
        e.itemId = d.has("item") ? d.get("item").textValue() : null;
        e.position = d.has("position") ? d.get("position").longValue() : null;
        e.dwellMs = d.has("dwell") ? d.get("dwell").longValue() : null;
        e.scrollDepth = d.has("depth") ? d.get("depth").doubleValue() : null;
        e.row = d.has("row") ? d.get("row").longValue() : null;
        e.scrollPx = d.has("px") ? d.get("px").longValue() : null;
        e.topic = "t";
        return e;
    }

    /** {@code _short(s)} of jvm_vectors.py: s, or "sha256:hex" when longer than INLINE_MAX. */
    public static String shortened(String s) {
        if (s.length() <= INLINE_MAX) {
            return s;
        }
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return "sha256:" + HexFormat.of().formatHex(md.digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
