package io.userpulse.flink.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.EventFields;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.tiles.Vectors;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

/** The spec written by userpulse/jvmspec.py (spec/default.json, kept in sync by a pytest). */
class JobSpecTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void parsesTheRealDefaultSpec() throws Exception {
        JobSpec s = Vectors.defaultSpec();
        FeatureSpec f = s.features();
        assertArrayEquals(new long[] {1_000, 5_000, 60_000, 1_440_000}, f.tileSizesMs());
        assertEquals(60, f.retentionTiles(3));
        assertEquals(2, f.slotOf(60_000));
        assertThrows(IllegalArgumentException.class, () -> f.slotOf(2_000));
        assertEquals(7, f.aggregates().size());
        AggregateSpec depth = f.aggregates().get(5);
        assertEquals(new AggregateSpec("max_depth_scroll", EventType.SCROLL, AggregateKind.MAX,
                EventFields.SCROLL_DEPTH, EventFields.ValueType.DOUBLE), depth);
        assertNull(f.aggregates().get(6).eventType());
        assertEquals(20, f.lastK());
        assertEquals(Set.of(EventType.CLICK, EventType.HOVER), f.lastKTypes());
        assertTrue(f.isLifetimeType(EventType.SCROLL) && !f.isLastKType(EventType.SCROLL));
        assertEquals(1_800_000, f.sessionGapMs());
        assertEquals(256, f.distinctSketchK());
        assertEquals(new LayoutSpec("up:v1", 90_600, 34_560_000), s.layout());
        assertEquals(new JobSettings(600_000, 86_400_000, 5, 500, 0, 65_536, 60_000), s.job());
        assertEquals(1, s.avro().writers().size());
        assertEquals("22326ba50b7ae27e", s.avro().writers().get(0).fingerprintHex());
        assertEquals(8, s.avro().writers().get(0).fingerprint().length);
        assertTrue(s.avro().readerSchemaJson().contains("\"name\":\"event_id\""));
        assertEquals(s.avro().writers().get(0).schemaJson(),
                s.avro().writerSchemasByFingerprintHex().get("22326ba50b7ae27e"));
        assertEquals(16379, s.redis().port());
        assertNull(s.redis().password());
        assertEquals(new MetricsSpec(0, "127.0.0.1"), s.metrics());
        JobSpec back = InstantiationUtil.clone(s); // Java serialization (the job graph)
        assertEquals(s.toString(), back.toString());
        assertArrayEquals(f.tileSizesMs(), back.features().tileSizesMs());
        assertEquals(f.aggregates(), back.features().aggregates());
    }

    @Test
    void redisToStringHidesThePassword() {
        JobSpec s = parse(d -> {
            ((ObjectNode) d.get("redis")).put("password", "s3cret-pw").put("username", "job");
        });
        assertEquals("s3cret-pw", s.redis().password());
        assertFalse(s.redis().toString().contains("s3cret-pw"));
        assertFalse(s.toString().contains("s3cret-pw"));
        assertTrue(s.redis().toString().contains("password=***"));
    }

    @Test
    void rejectsWhatItCannotRunWithAMessageNamingTheKey() {
        assertRejected("spec_version", d -> d.put("spec_version", 2));
        assertRejected("features.tile_sizes_ms[1]", d -> features(d).withArray("tile_sizes_ms")
                .set(1, MAPPER.getNodeFactory().numberNode(0)));
        assertRejected("features.tile_sizes_ms[1]", d -> features(d).withArray("tile_sizes_ms")
                .set(1, MAPPER.getNodeFactory().numberNode(500)));
        assertRejected("features.retention_tiles", d -> features(d).withArray("retention_tiles")
                .remove(0));
        assertRejected("features.aggregates[0]", d -> aggregate(d, 0).put("kind", "median"));
        assertRejected("features.aggregates[0]", d -> aggregate(d, 0).put("event_type", "SWIPE"));
        assertRejected("features.aggregates[3]", d -> aggregate(d, 3).put("field", "speed"));
        assertRejected("features.aggregates[3]", d -> aggregate(d, 3).put("value_type", "double"));
        assertRejected("features.aggregates[6]", d -> aggregate(d, 6).put("field", "dwell_ms")
                .put("value_type", "long"));
        assertRejected("features.last_k_types[0]", d -> features(d).withArray("last_k_types")
                .set(0, MAPPER.getNodeFactory().textNode("TAP")));
        assertRejected("features.surprise", d -> features(d).put("surprise", 1));
        assertRejected("redis.port", d -> ((ObjectNode) d.get("redis")).remove("port"));
        assertRejected("redis.port", d -> ((ObjectNode) d.get("redis")).put("port", "6379"));
        assertRejected("job.flush_interval_ms", d -> ((ObjectNode) d.get("job"))
                .put("flush_interval_ms", 0));
        assertRejected("avro.writers[0].fingerprint", d -> ((ObjectNode) d.get("avro")
                .get("writers").get(0)).put("fingerprint", "xyz"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobSpec.parse("{not json"));
        assertTrue(e.getMessage().contains("not JSON"), e.getMessage());
    }

    private static ObjectNode features(ObjectNode d) {
        return (ObjectNode) d.get("features");
    }

    private static ObjectNode aggregate(ObjectNode d, int i) {
        return (ObjectNode) ((ArrayNode) features(d).get("aggregates")).get(i);
    }

    private static JobSpec parse(Consumer<ObjectNode> change) {
        try {
            ObjectNode d = (ObjectNode) MAPPER.readTree(Vectors.text("spec/default.json"));
            change.accept(d);
            return JobSpec.parse(MAPPER.writeValueAsString(d));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertRejected(String key, Consumer<ObjectNode> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse(change), key);
        assertTrue(e.getMessage().startsWith("job spec: " + key + ":"), e.getMessage());
        assertTrue(e.getMessage().contains("; "), "says what to change: " + e.getMessage());
    }

    @Test
    void aggregateSpecsListKindsInOrder() {
        List<String> names = Vectors.defaultSpec().features().aggregates().stream()
                .map(AggregateSpec::name).toList();
        assertEquals(List.of("count_click", "count_scroll", "count_hover", "sum_dwell_hover",
                "max_dwell_hover", "max_depth_scroll", "distinct_items"), names);
    }
}
