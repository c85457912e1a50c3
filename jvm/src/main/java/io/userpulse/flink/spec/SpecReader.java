package io.userpulse.flink.spec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed, validating reads of one JSON object of the job spec. Every failure is an {@link
 * IllegalArgumentException} whose message names the key path (e.g. {@code
 * features.tile_sizes_ms[2]}), what is wrong, and what to change.
 */
final class SpecReader {

    static final String REGENERATE = "write the spec with userpulse/jvmspec.py (job_spec_json)";

    private final JsonNode node;
    private final String path;

    private SpecReader(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /**
     * A reader of the object {@code node} at {@code path} that holds exactly {@code keys}.
     *
     * @throws IllegalArgumentException not an object, a key missing, or an unknown key
     */
    static SpecReader object(JsonNode node, String path, String... keys) {
        if (node == null || !node.isObject()) {
            throw fail(path, "must be a JSON object", REGENERATE);
        }
        Set<String> known = new TreeSet<>(List.of(keys));
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                throw fail(join(path, k), "unknown key (known keys of " + display(path) + ": "
                        + known + ")", "remove it, or update the JVM spec classes to read it");
            }
        }
        for (String k : keys) {
            if (!node.has(k)) {
                throw fail(join(path, k), "missing", REGENERATE);
            }
        }
        return new SpecReader(node, path);
    }

    static IllegalArgumentException fail(String path, String problem, String fix) {
        return new IllegalArgumentException("job spec: " + display(path) + ": " + problem + "; "
                + fix);
    }

    private static String display(String path) {
        return path.isEmpty() ? "(top level)" : path;
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    String path(String key) {
        return join(path, key);
    }

    JsonNode raw(String key) {
        return node.get(key);
    }

    SpecReader child(String key, String... keys) {
        return object(node.get(key), path(key), keys);
    }

    /** An integer in {@code [min, max]}. */
    long integer(String key, long min, long max, String fix) {
        return integerNode(node.get(key), path(key), min, max, fix);
    }

    static long integerNode(JsonNode v, String path, long min, long max, String fix) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw fail(path, "must be an integer, got " + v, fix);
        }
        long x = v.longValue();
        if (x < min || x > max) {
            throw fail(path, "must be in " + min + ".." + max + ", got " + x, fix);
        }
        return x;
    }

    boolean bool(String key) {
        JsonNode v = node.get(key);
        if (!v.isBoolean()) {
            throw fail(path(key), "must be true or false, got " + v, REGENERATE);
        }
        return v.booleanValue();
    }

    /** A string, or null when {@code nullable} and the value is JSON null. */
    String string(String key, boolean nullable) {
        return stringNode(node.get(key), path(key), nullable, REGENERATE);
    }

    static String stringNode(JsonNode v, String path, boolean nullable, String fix) {
        if (v.isNull() && nullable) {
            return null;
        }
        if (!v.isTextual()) {
            throw fail(path, "must be a string" + (nullable ? " or null" : "") + ", got " + v, fix);
        }
        return v.textValue();
    }

    /** The elements of an array. */
    List<JsonNode> array(String key, String fix) {
        JsonNode v = node.get(key);
        if (!v.isArray()) {
            throw fail(path(key), "must be a JSON array, got " + v, fix);
        }
        List<JsonNode> out = new ArrayList<>(v.size());
        v.forEach(out::add);
        return out;
    }
}
