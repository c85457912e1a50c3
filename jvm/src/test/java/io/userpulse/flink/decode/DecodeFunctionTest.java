package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.userpulse.flink.event.Event;
import io.userpulse.flink.metrics.JobMetrics;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** The decode step through Flink's operator test harness: main output and dead-letter output. */
class DecodeFunctionTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] vector(String list, String name) {
        return Vectors.bytes(Vectors.list(list).stream()
                .filter(v -> v.get("name").asText().equals(name)).findFirst().orElseThrow()
                .get("value_b64"));
    }

    private static DecodeFunction function(int metricsPort) {
        return new DecodeFunction(Vectors.schema("v1"),
                Map.of(Vectors.fingerprint("v2"), Vectors.schema("v2")), 65_536,
                EventValidator.DEFAULT_MAX_FUTURE_MS, metricsPort, "127.0.0.1");
    }

    /** A record as the Kafka source hands it on (decoded once, by the source). */
    private static SourceRecord row(byte[] k, byte[] v, long offset) {
        try {
            return Vectors.source(function(0)).decode(k, v, "events", 3, offset);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String scrape(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void goodRecordsOutBadOnesToTheDeadLetterOutputTombstonesSkipped() throws Exception {
        int port = freePort();
        byte[] u1 = "u1".getBytes();
        byte[] click = vector("valid", "click_all_optional");
        byte[] truncated = vector("malformed", "truncated_to_7_bytes");
        byte[] badUtf8 = vector("malformed", "bad_utf8_user_id");
        byte[] v2Hover = vector("valid", "old_job_v2");
        byte[] seconds = vector("malformed", "event_time_seconds");
        byte[] big = new byte[70_000];
        big[0] = (byte) 0xC3;
        long before = System.currentTimeMillis();
        long decodedBefore;
        double badUtf8Before;
        try (JobMetrics m = JobMetrics.acquire(0, "127.0.0.1")) {
            decodedBefore = m.decodeSeconds().collect().getDataPoints().get(0).getCount();
            badUtf8Before = m.deadLettered("bad_utf8").get();
        }
        List<SourceRecord> rows = List.of(row(u1, click, 0), row(u1, truncated, 1),
                row(u1, null, 2), row(u1, badUtf8, 3), row(u1, v2Hover, 4), row(u1, new byte[0], 5),
                row("u9".getBytes(), click, 6), row(null, seconds, 7), row(null, big, 8),
                row(null, click, 9));
        OneInputStreamOperatorTestHarness<SourceRecord, Event> h =
                ProcessFunctionTestHarnesses.forProcessFunction(function(port));
        try {
            for (SourceRecord r : rows) {
                h.processElement(new StreamRecord<>(r)); // no timestamp: not capped
            }
            List<Event> out = h.extractOutputValues();
            assertEquals(3, out.size());
            assertEquals(Arrays.asList(0L, 4L, 9L), out.stream().map(e -> e.offset).toList());
            Event first = out.get(0);
            assertEquals("u1", first.userId);
            assertEquals("events", first.topic);
            assertEquals(3, first.partition);
            assertEquals("item-7", first.itemId);
            assertEquals(1500L, out.get(1).dwellMs); // v2 writer, v1 reader

            List<JsonNode> dead = new ArrayList<>();
            for (StreamRecord<String> s : h.getSideOutput(DecodeFunction.deadLetterTag())) {
                dead.add(JSON.readTree(s.getValue()));
            }
            assertEquals(6, dead.size());
            String[] classes = {"bad_framing", "bad_utf8", "empty", "key_mismatch", "invalid_field",
                "too_large"};
            long[] offsets = {1, 3, 5, 6, 7, 8};
            for (int i = 0; i < dead.size(); i++) {
                JsonNode d = dead.get(i);
                assertEquals(classes[i], d.get("error_class").asText());
                assertEquals(offsets[i], d.get("offset").asLong());
                assertEquals("events", d.get("topic").asText());
                assertEquals(3, d.get("partition").asInt());
                assertTrue(d.get("dead_lettered_at_ms").asLong() >= before);
            }
            assertEquals(7, dead.get(0).get("value_bytes").asInt());
            assertTrue(Arrays.equals(truncated, Vectors.bytes(dead.get(0).get("value_b64"))));
            assertEquals("dTE=", dead.get(0).get("key_b64").asText());
            assertTrue(dead.get(4).get("reason").asText().startsWith("event_time out of range"));
            assertTrue(dead.get(4).get("key_b64").isNull());
            assertEquals(70_000, dead.get(5).get("value_bytes").asInt());
            assertTrue(dead.get(5).get("value_truncated").asBoolean());

            String text = scrape(port);
            assertTrue(text.contains("userpulse_events_dead_lettered_total{error_class=\"bad_utf8\"} "
                    + (badUtf8Before + 1)), text);
            assertTrue(text.contains("userpulse_decode_seconds_count " + (decodedBefore + 9)), text);
        } finally {
            h.close();
        }
        assertEquals(0, JobMetrics.servingPort());
        assertThrows(ConnectException.class, () -> scrape(port));
    }

    @Test
    void countsInTheMetrics() throws Exception {
        try (JobMetrics m = JobMetrics.acquire(0, "127.0.0.1")) {
            double in = m.eventsIn().get();
            double tombstones = m.tombstones().get();
            double empty = m.deadLettered("empty").get();
            OneInputStreamOperatorTestHarness<SourceRecord, Event> h =
                    ProcessFunctionTestHarnesses.forProcessFunction(function(0));
            double ahead = m.aheadOfClock().get();
            h.processElement(row(null, null, 0), 0L);
            h.processElement(row(null, new byte[0], 1), 0L);
            SourceRecord hover = row(null, vector("valid", "hover_minimal"), 2);
            long t = hover.result.event().eventTimeMs;
            h.processElement(hover, t); // the source's timestamp = its event time
            assertEquals(ahead, m.aheadOfClock().get());
            h.processElement(hover, t - 1); // capped by the source: ahead of the clock
            h.close();
            assertEquals(ahead + 1, m.aheadOfClock().get());
            assertEquals(in + 4, m.eventsIn().get());
            assertEquals(tombstones + 1, m.tombstones().get());
            assertEquals(empty + 1, m.deadLettered("empty").get());
        }
    }

    @Test
    void isSerializableAndChecksItsArguments() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(function(0));
        }
        Object back = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).readObject();
        OneInputStreamOperatorTestHarness<SourceRecord, Event> h = new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>((DecodeFunction) back));
        h.open();
        h.processElement(row(null, vector("valid", "scroll_both"), 0), 0L);
        assertEquals(1.0, h.extractOutputValues().get(0).scrollDepth);
        h.close();
        assertThrows(IllegalArgumentException.class, () -> new DecodeFunction("{}", Map.of(), 0, 1, 0, "h"));
        assertEquals("dead-letter", DecodeFunction.deadLetterTag().getId());
        assertEquals(Event.class, function(0).getProducedType().getTypeClass());
    }
}
