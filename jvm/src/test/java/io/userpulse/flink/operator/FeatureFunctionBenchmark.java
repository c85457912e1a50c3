package io.userpulse.flink.operator;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.spec.JobSpec;
import java.lang.management.ManagementFactory;
import java.util.Random;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import redis.clients.jedis.Jedis;

/**
 * JVM time, heap allocation and the collectors' time per event of the keyed feature step (fold +
 * staging + pipelined Redis flush), and redis-server's CPU per event, JUnit-free (a measurement, not a test: the
 * machines are shared and noisy). Drives {@link FeatureFunction}
 * through {@link FeatureHarness} (heap state, test processing time) against a running
 * {@code redis-server}, with synthetic-like traffic: Zipf(1.1) users, click 0.2 / scroll 0.3 /
 * hover 0.5, event time advancing at {@code rate} events/s, the flush timer fired every
 * {@code flush_interval_ms} of event time and the watermark every 200 ms. With {@code
 * premergeRefreshMs} &gt; 0 the pre-merged windows are on (docs/key-layout.md): processing time
 * then starts at the first event time and advances with the flushes, so the merges see the
 * windows "as of now" and the refresh timers fire as they would; each round also prints the bytes
 * Redis received per event. Redis's CPU per event is mostly its write script's ({@code
 * EVALSHA}: {@code INFO commandstats}); Redis's Lua hashes every byte of every string it sees, so
 * the profile document (an argument) costs ~1.3 ns per byte there (2026-12-01).
 *
 * <p>Run (from jvm/, after {@code mvn test-compile} and {@code mvn dependency:build-classpath
 * -Dmdep.outputFile=cp.txt}): {@code java -cp target/classes:target/test-classes:$(cat cp.txt)
 * io.userpulse.flink.operator.FeatureFunctionBenchmark <redisPort> [events] [users] [rate]
 * [premergeRefreshMs]}.
 */
public final class FeatureFunctionBenchmark {

    private FeatureFunctionBenchmark() {}

    /**
     * @param args redis port; events per round (default 300,000); users (default 10,000); rate in
     *     events/s of event time (default 20,000); premerge_refresh_ms (default 0: off)
     */
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 300_000;
        int users = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int rate = args.length > 3 ? Integer.parseInt(args[3]) : 20_000;
        long premergeMs = args.length > 4 ? Long.parseLong(args[4]) : 0;
        JobSpec spec = FeatureHarness.spec(port,
                d -> ((ObjectNode) d.get("job")).put("premerge_refresh_ms", premergeMs));
        Event[] events = events(n, users, rate);
        try (FeatureHarness h = FeatureHarness.open(spec)) {
            com.sun.management.ThreadMXBean mx =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            try (Jedis redis = new Jedis("127.0.0.1", port)) {
                for (int round = 0; round < 4; round++) {
                    long t0 = System.nanoTime();
                    long c0 = mx.getCurrentThreadCpuTime();
                    long a0 = mx.getCurrentThreadAllocatedBytes();
                    long g0 = gcMs();
                    double r0 = redisCpuS(redis);
                    long b0 = redisInputBytes(redis);
                    if (premergeMs > 0) { // the job's clock at the round's first event
                        long first = events[0].eventTimeMs + shift(round, events.length, rate);
                        h.h.setProcessingTime(Math.max(h.h.getProcessingTime(), first));
                    }
                    run(h, events, rate, spec.job().flushIntervalMs(), round);
                    long ns = System.nanoTime() - t0;
                    long cpu = mx.getCurrentThreadCpuTime() - c0;
                    double alloc = (mx.getCurrentThreadAllocatedBytes() - a0) / (double) n;
                    double gc = (gcMs() - g0) * 1e3 / n;
                    double rs = redisCpuS(redis) - r0;
                    double bytes = (redisInputBytes(redis) - b0) / (double) n;
                    System.out.printf("round %d: wall %.2f us/event (%.0f events/s), task thread"
                            + " CPU %.2f us/event, %.0f bytes allocated/event, GC %.2f us/event,"
                            + " redis-server CPU %.2f us/event, %.0f bytes to Redis/event%n", round,
                            ns / 1e3 / n, n * 1e9 / ns, cpu / 1e3 / n, alloc, gc, rs * 1e6 / n,
                            bytes);
                }
            }
        }
    }

    /** The JVM's collectors' accumulated collection time (ms, wall: pauses and cycles). */
    private static long gcMs() {
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean gc
                : ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
        }
        return ms;
    }

    /** redis-server's CPU time (user + system, main thread and others) in s. */
    private static double redisCpuS(Jedis redis) {
        double s = 0;
        for (String line : redis.info("cpu").split("\r\n")) {
            if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
                s += Double.parseDouble(line.substring(line.indexOf(':') + 1));
            }
        }
        return s;
    }

    /** Bytes Redis received from clients so far ({@code total_net_input_bytes}). */
    private static long redisInputBytes(Jedis redis) {
        for (String line : redis.info("stats").split("\r\n")) {
            if (line.startsWith("total_net_input_bytes:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return 0;
    }

    /** How far round {@code round}'s event times are moved forward (ms). */
    private static long shift(int round, int n, int rate) {
        return (long) round * n * 1000L / rate;
    }

    private static void run(FeatureHarness h, Event[] events, int rate, long flushMs, int round)
            throws Exception {
        long shift = shift(round, events.length, rate);
        long nextFlush = 0;
        long nextWm = 0;
        for (Event e : events) {
            long t = e.eventTimeMs;
            e.eventTimeMs = t + shift;
            h.h.processElement(e, e.eventTimeMs);
            e.eventTimeMs = t;
            long sim = t - events[0].eventTimeMs;
            if (sim >= nextFlush) {
                h.fireFlushTimer();
                nextFlush = sim + flushMs;
            }
            if (sim >= nextWm) {
                h.watermark(t + shift - 2_000);
                nextWm = sim + 200;
            }
        }
        h.fireFlushTimer();
    }

    private static Event[] events(int n, int users, int rate) {
        Random r = new Random(42);
        double[] cdf = zipfCdf(users, 1.1);
        long t0 = 1_750_000_000_000L;
        Event[] out = new Event[n];
        for (int i = 0; i < n; i++) {
            String user = "u" + search(cdf, r.nextDouble());
            long t = t0 + (long) i * 1000L / rate;
            String id = "e" + i;
            double x = r.nextDouble();
            if (x < 0.2) {
                out[i] = FeatureHarness.click(user, id, t, "i" + r.nextInt(50_000));
            } else if (x < 0.5) {
                out[i] = FeatureHarness.scroll(user, id, t, r.nextDouble());
            } else {
                out[i] = FeatureHarness.hover(user, id, t, "i" + r.nextInt(50_000),
                        100 + r.nextInt(5_000));
            }
        }
        return out;
    }

    private static double[] zipfCdf(int n, double s) {
        double[] c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += 1.0 / Math.pow(i + 1, s);
            c[i] = sum;
        }
        for (int i = 0; i < n; i++) {
            c[i] /= sum;
        }
        return c;
    }

    private static int search(double[] cdf, double x) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
