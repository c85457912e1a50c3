package io.userpulse.flink.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The Prometheus endpoint, scraped over HTTP, against the Python workers' exposition. */
class JobMetricsTest {

    private static final String HOST = "127.0.0.1";

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String scrape(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://" + HOST + ":" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    private static List<String> pythonExposition() throws IOException {
        try (InputStream in = JobMetricsTest.class.getResourceAsStream("/metrics/python_exposition.txt")) {
            return List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        }
    }

    /** Bucket bounds by histogram name, parsed as numbers ({@code le} prints differently). */
    private static Map<String, List<Double>> buckets(List<String> lines) {
        Map<String, List<Double>> out = new TreeMap<>();
        for (String l : lines) {
            int at = l.indexOf("_bucket{le=\"");
            if (!l.startsWith("#") && at > 0) {
                String le = l.substring(at + 12, l.indexOf('"', at + 12));
                out.computeIfAbsent(l.substring(0, at), k -> new ArrayList<>())
                        .add(le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le));
            }
        }
        return out;
    }

    @Test
    void exposesThePythonNamesHelpTypesAndBuckets() throws Exception {
        int port = freePort();
        try (JobMetrics m = JobMetrics.acquire(port, HOST)) {
            assertEquals(port, JobMetrics.servingPort());
            m.eventsIn().inc();
            m.deadLettered("bad_avro").inc(2);
            m.decodeSeconds().observe(3e-6);
            m.freshnessMs().observe(7);
            m.redisWriteSeconds().observe(0.0015);
            m.counted().inc();
            m.late().inc();
            m.tombstones().inc();
            m.redisWriteRetries().inc();
            m.schemaRegistryRetries().inc();
            m.storeErrors("write").inc();
            m.storeRetries("OOM").inc();
            String text = scrape(port);
            List<String> lines = List.of(text.split("\n"));
            List<String> python = pythonExposition();
            for (String p : python) {
                if (p.startsWith("# HELP") || p.startsWith("# TYPE")) {
                    assertTrue(lines.contains(p), "missing: " + p + "\n" + text);
                } else if (!p.contains("_bucket{")) { // a sample name: userpulse_events_in_total
                    assertTrue(lines.stream().anyMatch(l -> l.startsWith(p + " ")), p + "\n" + text);
                }
            }
            assertEquals(buckets(python), buckets(lines));
            assertEquals(5, buckets(python).get("userpulse_decode_seconds").indexOf(1e-3));
            assertTrue(lines.stream().anyMatch(l -> l.matches("userpulse_events_in_total [1-9].*")), text);
            assertTrue(text.contains("userpulse_events_dead_lettered_total{error_class=\"bad_avro\"}"), text);
            assertTrue(text.contains("userpulse_store_errors_total{op=\"write\"} 1"), text);
            assertTrue(text.contains("userpulse_store_retries_total{state=\"OOM\"} 1"), text);
            assertTrue(text.contains("userpulse_decode_seconds_bucket{le=\"5.0E-6\"} 1"), text);
            // nothing but userpulse_* metrics and their metadata
            for (String l : lines) {
                assertTrue(l.isEmpty() || l.startsWith("userpulse_") || l.startsWith("# HELP userpulse_")
                        || l.startsWith("# TYPE userpulse_"), l);
            }
        }
    }

    @Test
    void referenceCountedAndThePortIsFreeAgainAfterTheLastRelease() throws Exception {
        int port = freePort();
        JobMetrics a = JobMetrics.acquire(port, HOST);
        JobMetrics b = JobMetrics.acquire(port, HOST); // a second operator of the same job
        JobMetrics c = JobMetrics.acquire(0, HOST);
        a.eventsIn().inc();
        a.release();
        a.release(); // idempotent per handle: does not take b's share
        assertEquals(port, JobMetrics.servingPort());
        assertTrue(scrape(port).contains("userpulse_events_in_total"));
        b.close();
        assertEquals(port, JobMetrics.servingPort()); // c still holds it
        c.release();
        assertEquals(0, JobMetrics.servingPort());
        assertThrows(ConnectException.class, () -> scrape(port));
        // the next job (here: the same class loader) binds the same port again
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName(HOST))) {
            assertEquals(port, s.getLocalPort());
        }
        try (JobMetrics again = JobMetrics.acquire(port, HOST)) {
            assertEquals(port, JobMetrics.servingPort());
            assertTrue(scrape(port).contains("# TYPE userpulse_freshness_ms histogram"));
        }
        assertEquals(0, JobMetrics.servingPort());
    }

    @Test
    void takesTheFirstFreePortOfTheSpan() throws Exception {
        int port = freePort();
        try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getByName(HOST));
                JobMetrics m = JobMetrics.acquire(port, HOST)) {
            int serving = JobMetrics.servingPort(); // port + 1 unless another process holds it
            assertTrue(serving > port && serving < port + JobMetrics.PORT_SPAN, "" + serving);
            assertTrue(scrape(serving).contains("userpulse_tombstones_skipped_total"));
            assertNotEquals(null, m.registry());
        }
    }

    @Test
    void portZeroServesNothingButCounts() throws Exception {
        try (JobMetrics m = JobMetrics.acquire(0, HOST)) {
            double before = m.counted().get();
            m.counted().inc();
            assertEquals(before + 1, m.counted().get());
            assertEquals(0, JobMetrics.servingPort());
        }
        assertThrows(IllegalArgumentException.class, () -> JobMetrics.acquire(-1, HOST));
        assertThrows(IllegalArgumentException.class, () -> JobMetrics.acquire(70_000, HOST));
    }

    @Test
    void everyPortOfTheSpanTakenIsAnError() throws Exception {
        List<ServerSocket> taken = new ArrayList<>();
        int base = 0;
        try {
            for (int attempt = 0; attempt < 20 && taken.size() < JobMetrics.PORT_SPAN; attempt++) {
                taken.forEach(JobMetricsTest::closeQuietly);
                taken.clear();
                base = 20_000 + (int) (Math.random() * 30_000);
                for (int p = base; p < base + JobMetrics.PORT_SPAN; p++) {
                    try {
                        taken.add(new ServerSocket(p, 1, InetAddress.getByName(HOST)));
                    } catch (IOException busy) {
                        break;
                    }
                }
            }
            assertEquals(JobMetrics.PORT_SPAN, taken.size());
            int first = base;
            IOException e = assertThrows(IOException.class, () -> JobMetrics.acquire(first, HOST));
            assertTrue(e.getMessage().startsWith("no free metrics port in " + first + ".."), e.getMessage());
            assertEquals(0, JobMetrics.servingPort());
        } finally {
            taken.forEach(JobMetricsTest::closeQuietly);
        }
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // test cleanup
        }
    }
}
