package io.userpulse.flink.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The Prometheus metrics of the job's workers (design section 8): the names, help texts, labels
 * and buckets of the Python workers' {@code userpulse/metrics.py}, units in the names. Source of
 * the naming rules: Prometheus docs, "Metric and label naming" (base units, {@code _total}).
 *
 * <p>One registry and at most one HTTP endpoint per class loader, shared by every operator of the
 * job in this TaskManager and reference-counted: each operator calls {@link #acquire} in
 * {@code open()} and {@link #release} in {@code close()}; the endpoint stops when the last one
 * releases, so the next job (a new user class loader in the same TaskManager) can bind the port
 * again. The endpoint serves {@code /metrics} on the first free port of
 * {@code [port, port + PORT_SPAN)} (several TaskManagers on one host: the first takes
 * {@code port}, the next {@code port + 1}, ...); port 0 = no endpoint, the metrics still count.
 *
 * <p>Exposition names: the Java client appends {@code _total} to counters itself, so the
 * counters below are built without it and scrape as {@code userpulse_events_in_total} etc., the
 * Python names. Histogram {@code le} labels print in Java's float format ({@code 1.0E-6} where
 * Python prints {@code 1e-06}): the same bucket to Prometheus, which parses {@code le} as a
 * number. Every metric is thread-safe.
 */
public final class JobMetrics implements AutoCloseable {

    /** Ports tried from the configured one: {@code [port, port + PORT_SPAN)}. */
    public static final int PORT_SPAN = MetricsEndpoint.PORT_SPAN;

    private static final Object LOCK = new Object();
    private static JobMetrics.Shared shared;
    private static MetricsEndpoint endpoint;
    private static int users;

    private final Shared m;
    private boolean released;

    /** The metric objects (created once per class loader). */
    private static final class Shared {
        final PrometheusRegistry registry = new PrometheusRegistry();
        final Counter eventsIn = counter("userpulse_events_in", "Records read from the input topic");
        final Counter counted = counter("userpulse_events_counted", "Events folded into features");
        final Counter late = counter("userpulse_events_late", "Events beyond the allowed lateness");
        final Counter deadLettered = Counter.builder().name("userpulse_events_dead_lettered")
                .help("Records sent to the dead-letter topic").labelNames("error_class")
                .withoutExemplars().register(registry);
        final Counter aheadOfClock = counter("userpulse_events_ahead_of_clock",
                "Counted events more than max_clock_skew_ms ahead of the job clock");
        final Counter tombstones = counter("userpulse_tombstones_skipped", "Null-value records skipped");
        final Counter premergeRefreshes = counter("userpulse_premerge_refreshes",
                "Users whose pre-merged windows were rewritten by the refresh timer");
        final Histogram decodeSeconds = histogram("userpulse_decode_seconds",
                "Decode time per record", 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3);
        final Histogram redisWriteSeconds = histogram("userpulse_redis_write_seconds",
                "Time of one pipelined flush to Redis",
                1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2, 0.1, 1.0);
        final Histogram freshnessMs = histogram("userpulse_freshness_ms",
                "Redis write time minus event_time, ms",
                1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 60000);
        final Counter redisWriteRetries = counter("userpulse_redis_write_retries", "Retried Redis flushes");
        final Counter schemaRegistryRetries = counter("userpulse_schema_registry_retries",
                "Schema registry lookups that failed and were retried");
        final Counter storeErrors = labelled("userpulse_store_errors",
                "Users whose key Redis refused for good (reported on the dead-letter topic)", "op");
        final Counter storeRetries = labelled("userpulse_store_retries",
                "Redis reads and flushes retried, by the state that caused it", "state");
        final Gauge storeBlocked = Gauge.builder().name("userpulse_store_blocked")
                .help("Writers waiting for Redis (down, slow or in a transient state)")
                .register(registry);
        final Counter storeLosses = counter("userpulse_store_losses",
                "Times the job found the store had lost data");
        final Counter storeRewrites = counter("userpulse_store_rewrites",
                "Users rewritten in full after a store loss");
        final Gauge storeRewritePending = Gauge.builder().name("userpulse_store_rewrite_pending")
                .help("Users still to rewrite in full after a store loss").register(registry);

        private Counter labelled(String name, String help, String label) {
            return Counter.builder().name(name).help(help).labelNames(label).withoutExemplars()
                    .register(registry);
        }

        private Counter counter(String name, String help) {
            return Counter.builder().name(name).help(help).withoutExemplars().register(registry);
        }

        private Histogram histogram(String name, String help, double... upperBounds) {
            return Histogram.builder().name(name).help(help).classicUpperBounds(upperBounds)
                    .classicOnly().withoutExemplars().register(registry);
        }
    }

    private JobMetrics(Shared m) {
        this.m = m;
    }

    /**
     * Registers one user of the metrics (an operator's {@code open()}), starting the endpoint if
     * {@code port > 0} and none runs yet in this class loader. A later caller asking for another
     * port or host shares the running endpoint.
     *
     * @param port first port to try, or 0 for no endpoint
     * @param host address to bind ({@code 127.0.0.1}, {@code 0.0.0.0}, ...)
     * @return a handle; call {@link #release()} (or {@link #close()}) once when done
     * @throws java.io.IOException every port of {@code [port, port + PORT_SPAN)} is taken (the
     *     user is not registered then)
     * @throws IllegalArgumentException if {@code port} is negative or above 65535
     */
    public static JobMetrics acquire(int port, String host) throws java.io.IOException {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("metrics port must be 0..65535, got " + port);
        }
        synchronized (LOCK) {
            if (shared == null) {
                shared = new Shared();
            }
            if (port > 0 && endpoint == null) {
                endpoint = MetricsEndpoint.start(shared.registry, port, host);
            }
            users++;
            return new JobMetrics(shared);
        }
    }

    /**
     * The metric objects of this class loader without registering a user: for code without a
     * close hook (the Kafka source's deserializer). It never starts an endpoint nor keeps one
     * running; what it counts is served by the endpoint of the operators that {@link #acquire}d
     * one. Never release the handle.
     */
    public static JobMetrics shared() {
        synchronized (LOCK) {
            if (shared == null) {
                shared = new Shared();
            }
            JobMetrics h = new JobMetrics(shared);
            h.released = true; // not a user: release() must not count down
            return h;
        }
    }

    /**
     * Unregisters this user (an operator's {@code close()}); the endpoint stops, freeing its
     * port, when the last user of this class loader releases. Idempotent per handle.
     */
    public void release() {
        synchronized (LOCK) {
            if (released) {
                return;
            }
            released = true;
            if (--users == 0 && endpoint != null) {
                endpoint.stop();
                endpoint = null;
            }
        }
    }

    /** Same as {@link #release()}. */
    @Override
    public void close() {
        release();
    }

    /** The port the endpoint of this class loader serves on, or 0 when there is none. */
    public static int servingPort() {
        synchronized (LOCK) {
            return endpoint == null ? 0 : endpoint.port();
        }
    }

    /** The registry behind the endpoint (for tests and extra collectors). */
    public PrometheusRegistry registry() {
        return m.registry;
    }

    /** {@code userpulse_events_in_total}: records read from the input topic (incl. tombstones). */
    public Counter eventsIn() {
        return m.eventsIn;
    }

    /** {@code userpulse_events_counted_total}: events folded into features. */
    public Counter counted() {
        return m.counted;
    }

    /**
     * {@code userpulse_events_ahead_of_clock_total}: counted events more than {@code
     * max_clock_skew_ms} ahead of the job's clock, whose watermark time was capped (design
     * section 4).
     */
    public Counter aheadOfClock() {
        return m.aheadOfClock;
    }

    /** {@code userpulse_events_late_total}: events beyond the allowed lateness. */
    public Counter late() {
        return m.late;
    }

    /**
     * {@code userpulse_events_dead_lettered_total{error_class}}: records sent to the dead-letter
     * topic, by stable error class ({@code bad_avro}, ...).
     */
    public CounterDataPoint deadLettered(String errorClass) {
        return m.deadLettered.labelValues(errorClass);
    }

    /**
     * {@code userpulse_premerge_refreshes_total}: users whose pre-merged window values were
     * staged again by their refresh timer (a window value stopped holding; issue 16).
     */
    public Counter premergeRefreshes() {
        return m.premergeRefreshes;
    }

    /** {@code userpulse_tombstones_skipped_total}: null-value records skipped. */
    public Counter tombstones() {
        return m.tombstones;
    }

    /** {@code userpulse_decode_seconds}: decode time per record, seconds. */
    public Histogram decodeSeconds() {
        return m.decodeSeconds;
    }

    /** {@code userpulse_redis_write_seconds}: time of one pipelined flush to Redis, seconds. */
    public Histogram redisWriteSeconds() {
        return m.redisWriteSeconds;
    }

    /** {@code userpulse_freshness_ms}: Redis write time minus event_time, milliseconds. */
    public Histogram freshnessMs() {
        return m.freshnessMs;
    }

    /** {@code userpulse_redis_write_retries_total}: retried Redis flushes. */
    public Counter redisWriteRetries() {
        return m.redisWriteRetries;
    }

    /**
     * {@code userpulse_schema_registry_retries_total}: schema registry lookups that failed (outage,
     * HTTP error, timeout) and were retried; records are not dead-lettered for it (case H09).
     */
    public Counter schemaRegistryRetries() {
        return m.schemaRegistryRetries;
    }

    /**
     * {@code userpulse_store_errors_total{op}}: users whose key Redis refused for good, by
     * {@code op} ({@code read}: the revival read of the stored profile; {@code write}: a flush).
     */
    public CounterDataPoint storeErrors(String op) {
        return m.storeErrors.labelValues(op);
    }

    /**
     * {@code userpulse_store_retries_total{state}}: retries by cause: a transient server state
     * ({@code OOM}, {@code LOADING}, {@code BUSY}, {@code MASTERDOWN}, {@code READONLY},
     * {@code TRYAGAIN}, {@code CLUSTERDOWN}, ...), {@code MOVED}, {@code ASK}, {@code
     * connection} (lost, refused or timed out) or {@code cluster} (a slot no node serves).
     */
    public CounterDataPoint storeRetries(String state) {
        return m.storeRetries.labelValues(state);
    }

    /** {@code userpulse_store_blocked}: writers (one per task) waiting for Redis right now. */
    public Gauge storeBlocked() {
        return m.storeBlocked;
    }

    /** {@code userpulse_store_losses_total}: times a task found the store had lost data. */
    public Counter storeLosses() {
        return m.storeLosses;
    }

    /** {@code userpulse_store_rewrites_total}: users rewritten in full after a store loss. */
    public Counter storeRewrites() {
        return m.storeRewrites;
    }

    /** {@code userpulse_store_rewrite_pending}: users still to rewrite after a store loss. */
    public Gauge storeRewritePending() {
        return m.storeRewritePending;
    }
}
