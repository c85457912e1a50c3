package io.userpulse.flink.profile;

import static io.userpulse.flink.redis.RedisLayout.PROFILE_COUNTS;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_FIRST_SEEN;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_LAST_K;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_LAST_SEEN;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_SESSION;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_VERSION;

import java.util.Iterator;
import java.util.Map;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.json.JsonReadFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The stored profile document ({@code Profile.record()}): parsing it back into a {@link Profile}
 * ({@code userpulse/profile._from_doc}) and writing a parsed document again exactly as Python's
 * {@code json.dumps(doc, separators=(",", ":"))} would (for {@code base}).
 */
final class ProfileDoc {

    /** Reads what Python's json.loads reads (NaN / Infinity too); object key order is kept. */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private ProfileDoc() {}

    /**
     * Parses stored profile JSON.
     *
     * @return the document, or null for JSON {@code null}
     * @throws IllegalArgumentException not JSON, or not an object
     */
    static ObjectNode parse(String json) {
        JsonNode n;
        try {
            n = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("stored profile is not JSON: "
                    + e.getOriginalMessage(), e);
        }
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("stored profile is not a JSON object: "
                    + abbreviate(json));
        }
        return (ObjectNode) n;
    }

    /** {@code _from_doc(doc)}: a profile continuing the stored record (no rev / base). */
    static Profile fromDoc(ObjectNode doc) {
        Profile p = new Profile();
        JsonNode v = doc.get(PROFILE_VERSION);
        p.version = truthy(v) ? asLong(v, PROFILE_VERSION) : 0;
        JsonNode c = doc.get(PROFILE_COUNTS);
        if (truthy(c)) {
            for (Iterator<Map.Entry<String, JsonNode>> it = object(c, PROFILE_COUNTS).fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                ProfileFolder.addCount(p, e.getKey(), asLong(e.getValue(), PROFILE_COUNTS + "." + e.getKey()));
            }
        }
        p.firstSeenMs = timeOrNone(doc.get(PROFILE_FIRST_SEEN), PROFILE_FIRST_SEEN);
        p.lastSeenMs = timeOrNone(doc.get(PROFILE_LAST_SEEN), PROFILE_LAST_SEEN);
        JsonNode k = doc.get(PROFILE_LAST_K);
        if (truthy(k)) {
            for (Iterator<Map.Entry<String, JsonNode>> it = object(k, PROFILE_LAST_K).fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                LastK l = ProfileFolder.lastKFor(p, e.getKey(), e.getValue().size());
                for (JsonNode x : e.getValue()) {
                    if (!x.isArray() || x.size() != 3) {
                        throw new IllegalArgumentException("stored profile: k." + e.getKey()
                                + " entries must be [time, event_id, item_id], got " + x);
                    }
                    l.append(asLong(x.get(0), "k time"), text(x.get(1)), text(x.get(2)));
                }
            }
        }
        JsonNode s = doc.get(PROFILE_SESSION);
        if (truthy(s)) {
            if (!s.isArray() || s.size() != 3) {
                throw new IllegalArgumentException("stored profile: s must be [start, end, events]");
            }
            p.sessions = new long[] {asLong(s.get(0), PROFILE_SESSION), asLong(s.get(1), PROFILE_SESSION),
                asLong(s.get(2), PROFILE_SESSION)};
            p.sessionCount = 1;
        }
        return p;
    }

    /** Python truthiness of a JSON value (missing, null, 0, "", [] and {} are false). */
    private static boolean truthy(JsonNode n) {
        if (n == null || n.isNull()) {
            return false;
        }
        if (n.isNumber()) {
            return n.doubleValue() != 0 || n.isBigInteger() && n.bigIntegerValue().signum() != 0;
        }
        if (n.isTextual()) {
            return !n.textValue().isEmpty();
        }
        if (n.isContainerNode()) {
            return n.size() > 0;
        }
        return !n.isBoolean() || n.booleanValue();
    }

    private static JsonNode object(JsonNode n, String key) {
        if (!n.isObject()) {
            throw new IllegalArgumentException("stored profile: " + key + " must be an object");
        }
        return n;
    }

    private static long timeOrNone(JsonNode n, String key) {
        return n == null || n.isNull() ? Profile.NONE : asLong(n, key);
    }

    private static long asLong(JsonNode n, String key) {
        if (n == null || !n.isNumber()) {
            throw new IllegalArgumentException("stored profile: " + key + " must be a number, got "
                    + n);
        }
        return n.longValue(); // a float truncates toward zero, as Python's int()
    }

    private static String text(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException("stored profile: expected a string, got " + n);
        }
        return n.textValue();
    }

    /** {@code json.dumps(node, separators=(",", ":"))} of a parsed document. */
    static void appendPython(StringBuilder sb, JsonNode n) {
        if (n.isObject()) {
            sb.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!first) {
                    sb.append(',');
                }
                first = false;
                PyRepr.appendJsonString(sb, e.getKey());
                sb.append(':');
                appendPython(sb, e.getValue());
            }
            sb.append('}');
        } else if (n.isArray()) {
            sb.append('[');
            for (int i = 0; i < n.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                appendPython(sb, n.get(i));
            }
            sb.append(']');
        } else if (n.isTextual()) {
            PyRepr.appendJsonString(sb, n.textValue());
        } else if (n.isIntegralNumber()) {
            sb.append(n.bigIntegerValue());
        } else if (n.isNumber()) {
            double d = n.doubleValue();
            if (Double.isNaN(d)) {
                sb.append("NaN");
            } else if (Double.isInfinite(d)) {
                sb.append(d > 0 ? "Infinity" : "-Infinity");
            } else {
                PyRepr.appendFloat(sb, d);
            }
        } else if (n.isBoolean()) {
            sb.append(n.booleanValue() ? "true" : "false");
        } else {
            sb.append("null");
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }
}
