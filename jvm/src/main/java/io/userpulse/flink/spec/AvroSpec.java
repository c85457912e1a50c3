package io.userpulse.flink.spec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The Avro schemas of {@code schemas/} ({@code avro}): the reader schema and every writer schema
 * the decoder accepts, by CRC-64-AVRO fingerprint (single-object encoding), and the schema
 * registry of Confluent-framed records ({@code avro.registry}: optional key, null = none).
 *
 * @param readerSchemaJson the reader schema, JSON text
 * @param writers writer schemas (unmodifiable)
 * @param registry the schema registry, or null
 */
public record AvroSpec(String readerSchemaJson, List<WriterSchema> writers, Registry registry)
        implements Serializable {

    /** Copies {@code writers}. */
    public AvroSpec {
        writers = List.copyOf(writers);
    }

    /**
     * The schema registry ({@code avro.registry}).
     *
     * @param url base URL of its Confluent-compatible API (Apicurio: {@code .../apis/ccompat/v7})
     * @param subject the subject of the input topic's value schemas ({@code <topic>-value})
     * @param timeoutMs bound of one registry request, ms (1..10000: case H09 c)
     * @param cacheSize the most schemas kept per cache (ids; fingerprints)
     */
    public record Registry(String url, String subject, int timeoutMs, int cacheSize)
            implements Serializable {

        static Registry parse(SpecReader r) {
            String fix = "fix schema_registry_url / schema_registry_timeout_s";
            return new Registry(r.string("url", false), r.string("subject", false),
                    (int) r.integer("timeout_ms", 1, 10_000, fix),
                    (int) r.integer("cache_size", 1, 1_000_000, fix));
        }
    }

    /**
     * One writer schema.
     *
     * @param fingerprintHex the 8-byte CRC-64-AVRO fingerprint as 16 lower-case hex digits, in the
     *     order the single-object encoding carries it
     * @param schemaJson the schema, JSON text
     */
    public record WriterSchema(String fingerprintHex, String schemaJson) implements Serializable {

        /** The fingerprint's 8 bytes (a copy). */
        public byte[] fingerprint() {
            return HexFormat.of().parseHex(fingerprintHex);
        }
    }

    /** Writer schema JSON by fingerprint hex (16 lower-case digits), in spec order. */
    public Map<String, String> writerSchemasByFingerprintHex() {
        Map<String, String> out = new LinkedHashMap<>();
        for (WriterSchema w : writers) {
            out.put(w.fingerprintHex(), w.schemaJson());
        }
        return out;
    }

    static AvroSpec parse(SpecReader r, ObjectMapper mapper) {
        String fix = "fix schemas/ (the spec carries userpulse.schemas.codec CURRENT)";
        List<WriterSchema> writers = new ArrayList<>();
        List<JsonNode> ws = r.array("writers", fix);
        if (ws.isEmpty()) {
            throw SpecReader.fail(r.path("writers"), "needs at least one writer schema", fix);
        }
        for (int i = 0; i < ws.size(); i++) {
            SpecReader w = SpecReader.object(ws.get(i), r.path("writers") + "[" + i + "]",
                    "fingerprint", "schema");
            String hex = w.string("fingerprint", false);
            if (!hex.matches("[0-9a-fA-F]{16}")) {
                throw SpecReader.fail(w.path("fingerprint"), "must be 16 hex digits (8 bytes), got '"
                        + hex + "'", fix);
            }
            writers.add(new WriterSchema(hex.toLowerCase(java.util.Locale.ROOT),
                    schemaText(w, "schema", mapper, fix)));
        }
        JsonNode reg = r.raw("registry");
        Registry registry = reg == null || reg.isNull() ? null : Registry.parse(SpecReader.object(
                reg, r.path("registry"), "url", "subject", "timeout_ms", "cache_size"));
        return new AvroSpec(schemaText(r, "reader", mapper, fix), writers, registry);
    }

    private static String schemaText(SpecReader r, String key, ObjectMapper mapper, String fix) {
        JsonNode s = r.raw(key);
        if (s.isTextual()) {
            return s.textValue();
        }
        if (!s.isObject() && !s.isArray()) {
            throw SpecReader.fail(r.path(key), "must be an Avro schema (JSON object)", fix);
        }
        try {
            return mapper.writeValueAsString(s);
        } catch (Exception e) {
            throw SpecReader.fail(r.path(key), "cannot be written as JSON: " + e, fix);
        }
    }
}
