package io.userpulse.flink.spec;

import java.io.Serializable;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The job spec: what the JVM per-event path needs to know, written by {@code
 * userpulse/jvmspec.py} from the Python feature catalogue and the job's settings (format: that
 * module's doc, {@code spec_version} 1). Immutable and {@link Serializable}: it travels inside
 * the job graph. {@link #toString()} never shows the Redis password.
 *
 * @param features the catalogue: tile sizes, aggregates, profile parameters
 * @param layout Redis key prefix and TTLs
 * @param job lateness, clock skew, flush and retention settings
 * @param avro reader and writer schemas
 * @param redis connection
 * @param metrics Prometheus endpoint of the workers
 * @param store the store-loss watch ({@link StoreSpec#DEFAULT} when the spec has none)
 */
public record JobSpec(
        FeatureSpec features,
        LayoutSpec layout,
        JobSettings job,
        AvroSpec avro,
        RedisSpec redis,
        MetricsSpec metrics,
        StoreSpec store)
        implements Serializable {

    /** The only {@code spec_version} this code reads. */
    public static final int SPEC_VERSION = 1;

    /**
     * Parses and validates a spec.
     *
     * @param json the text of {@code jvmspec.job_spec_json(settings)}
     * @return the spec
     * @throws IllegalArgumentException not JSON, another {@code spec_version}, an unknown or
     *     missing key, an unknown event type / aggregate kind / field, a tile size that is not
     *     positive, mismatched array lengths; the message names the key and what to change
     */
    public static JobSpec parse(String json) {
        ObjectMapper mapper = new ObjectMapper();
        JsonNode root;
        try {
            root = mapper.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("job spec: not JSON (" + e.getOriginalMessage()
                    + "); " + SpecReader.REGENERATE, e);
        }
        if (root == null || !root.isObject()) {
            throw SpecReader.fail("", "must be a JSON object", SpecReader.REGENERATE);
        }
        JsonNode v = root.get("spec_version");
        if (v == null || !v.isIntegralNumber() || v.longValue() != SPEC_VERSION) {
            throw SpecReader.fail("spec_version", "is " + v + " but this jar reads version "
                    + SPEC_VERSION, "build the jar (make deps) from the same checkout as the "
                    + "Python job, or write a version " + SPEC_VERSION + " spec");
        }
        SpecReader r = root.has("store")
                ? SpecReader.object(root, "", "spec_version", "features", "layout", "job",
                        "avro", "redis", "metrics", "store")
                : SpecReader.object(root, "", "spec_version", "features", "layout", "job",
                        "avro", "redis", "metrics");
        JobSettings job = JobSettings.parse(r.child("job", "allowed_lateness_ms", "max_future_ms",
                "flush_interval_ms", "flush_max_pending", "premerge_refresh_ms", "max_record_bytes",
                "retention_granularity_ms"));
        return new JobSpec(
                FeatureSpec.parse(r.child("features", "tile_sizes_ms", "retention_tiles",
                        "aggregates", "last_k", "last_k_types", "lifetime_types", "session_gap_ms",
                        "distinct_sketch_k")),
                LayoutSpec.parse(r.child("layout", "prefix", "ttl_s", "profile_ttl_s")),
                job,
                AvroSpec.parse(avro(r), mapper),
                RedisSpec.parse(r.child("redis", "host", "port", "db", "cluster", "username",
                        "password", "timeout_ms", "tls", "tls_ca_file", "tls_cert_file",
                        "tls_key_file", "tls_check_hostname")),
                MetricsSpec.parse(r.child("metrics", "port", "host")),
                root.has("store")
                        ? StoreSpec.parse(r.child("store", "loss_rewrite", "check_interval_ms"))
                        : StoreSpec.DEFAULT);
    }

    /** {@code avro} holds {@code reader}, {@code writers} and, optionally, {@code registry}. */
    private static SpecReader avro(SpecReader r) {
        JsonNode a = r.raw("avro");
        return a != null && a.has("registry")
                ? r.child("avro", "reader", "writers", "registry")
                : r.child("avro", "reader", "writers");
    }
}
