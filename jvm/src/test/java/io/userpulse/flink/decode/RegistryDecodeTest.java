package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.metrics.JobMetrics;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/**
 * The registry side of decoding (case H09): retries while the registry fails, bounded waits on a
 * registry that never answers, fingerprints found in the topic's subject (case H10, old job).
 * The real registry (Apicurio) is exercised through the job in
 * {@code tests/integration/test_registry_job.py}.
 */
class RegistryDecodeTest {

    private static final String V1 = Vectors.schema("v1");
    private static final String V2 = Vectors.schema("v2");
    /** Lookups of the failing registry so far (static: the function may be copied). */
    private static final AtomicInteger CALLS = new AtomicInteger();

    private static byte[] valid(String name) {
        return Vectors.bytes(Vectors.list("valid").stream()
                .filter(v -> v.get("name").asText().equals(name)).findFirst().orElseThrow()
                .get("value_b64"));
    }

    /** {@code 00} + big-endian {@code id} + the body of a single-object record. */
    private static byte[] confluent(int id, byte[] singleObject) {
        byte[] out = new byte[5 + singleObject.length - 10];
        out[1] = (byte) (id >>> 24);
        out[2] = (byte) (id >>> 16);
        out[3] = (byte) (id >>> 8);
        out[4] = (byte) id;
        System.arraycopy(singleObject, 10, out, 5, singleObject.length - 10);
        return out;
    }

    /** Fails its first two lookups (an outage), then knows id 7 as v1. */
    private static String failingTwice(int id) throws IOException {
        if (CALLS.incrementAndGet() <= 2) {
            throw new IOException("HTTP 503");
        }
        return id == 7 ? V1 : null;
    }

    @Test
    void anOutageIsRetriedNotDeadLettered() throws Exception {
        CALLS.set(0);
        byte[] hover = confluent(7, valid("hover_minimal"));
        DecodeFunction f = new DecodeFunction(V1, Map.of(), 65_536,
                EventValidator.DEFAULT_MAX_FUTURE_MS, 0, "127.0.0.1",
                RegistryDecodeTest::failingTwice, 10);
        double before;
        try (JobMetrics m = JobMetrics.acquire(0, "127.0.0.1")) {
            before = m.schemaRegistryRetries().get();
        }
        OneInputStreamOperatorTestHarness<SourceRecord, Event> h =
                ProcessFunctionTestHarnesses.forProcessFunction(f);
        EventDeserializer source = Vectors.source(f);
        try {
            long t0 = System.nanoTime();
            h.processElement(source.decode("u1".getBytes(), hover, "events", 0, 0L), 0L);
            h.processElement(source.decode("u1".getBytes(), confluent(9999,
                    valid("hover_minimal")), "events", 0, 1L), 0L);
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            List<Event> out = h.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals(500L, out.get(0).dwellMs);
            List<String> dead = new ArrayList<>();
            h.getSideOutput(DecodeFunction.deadLetterTag()).forEach(r -> dead.add(r.getValue()));
            assertEquals(1, dead.size()); // only the id the registry answered "not found" for
            assertTrue(dead.get(0).contains("unknown schema id 9999"), dead.get(0));
            assertEquals(4, CALLS.get()); // 2 failures, id 7, id 9999
            assertTrue(waitedMs >= EventDeserializer.RETRY_FIRST_MS * 3, "backoff " + waitedMs);
            try (JobMetrics m = JobMetrics.acquire(0, "127.0.0.1")) {
                assertEquals(before + 2, m.schemaRegistryRetries().get());
            }
        } finally {
            h.close();
        }
    }

    @Test
    void aRegistryThatNeverAnswersTimesOut() throws Exception { // case H09 c
        try (ServerSocket silent = new ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            List<Socket> held = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // accepted, never answered
                    }
                } catch (IOException e) {
                    // closed at the end of the test
                }
            });
            acceptor.start();
            HttpSchemaRegistry r = new HttpSchemaRegistry(
                    "http://127.0.0.1:" + silent.getLocalPort() + "/apis/ccompat/v7", "t-value", 500);
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> r.writerSchemaJson(1));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 400 && ms < 5_000, ms + " ms: " + e);
            silent.close();
            acceptor.join(5_000);
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void aRefusedConnectionIsAnOutage() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        HttpSchemaRegistry r = new HttpSchemaRegistry("http://127.0.0.1:" + port, null, 1_000);
        assertThrows(IOException.class, () -> r.writerSchemaJson(1));
        assertThrows(IllegalArgumentException.class,
                () -> new HttpSchemaRegistry("ftp://x", null, 1_000));
    }

    @Test
    void anOldJobFindsANewFingerprintInTheSubjectOnce() { // case H10: old job, new producer
        AtomicInteger asked = new AtomicInteger();
        AtomicLong now = new AtomicLong(1_000);
        SchemaRegistryLookup reg = new SchemaRegistryLookup() {
            @Override
            public String writerSchemaJson(int schemaId) {
                return null;
            }

            @Override
            public List<String> subjectSchemasJson() {
                asked.incrementAndGet();
                return List.of(V1, V2);
            }
        };
        EventDecoder oldJob = new EventDecoder(V1, Map.of(), 65_536, reg, 2, now::get);
        byte[] v2Hover = valid("old_job_v2");
        assertEquals(1500L, oldJob.decode(v2Hover).event().dwellMs);
        assertEquals(1500L, oldJob.decode(v2Hover).event().dwellMs);
        assertEquals(1, asked.get()); // cached
        byte[] unknown = v2Hover.clone();
        unknown[2] ^= 1;
        assertEquals(ErrorClass.UNKNOWN_SCHEMA, oldJob.decode(unknown).errorClass());
        assertEquals(ErrorClass.UNKNOWN_SCHEMA, oldJob.decode(unknown).errorClass());
        assertEquals(2, asked.get()); // a miss is not asked again at once
        now.addAndGet(EventDecoder.FINGERPRINT_MISS_TTL_MS);
        assertEquals(ErrorClass.UNKNOWN_SCHEMA, oldJob.decode(unknown).errorClass());
        assertEquals(3, asked.get());
        assertTrue(Arrays.equals(v2Hover, valid("old_job_v2")));
    }

    @Test
    void theCachesAreBounded() {
        BoundedCache<Integer, String> c = new BoundedCache<>(2);
        c.put(1, "a");
        c.put(2, "b");
        c.get(1);
        c.put(3, "c");
        assertEquals(List.of(1, 3), new ArrayList<>(c.keySet()));
        assertThrows(IllegalArgumentException.class, () -> new BoundedCache<>(0));
    }
}
