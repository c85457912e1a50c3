package io.userpulse.flink.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;

/**
 * The HTTP endpoint of one registry: Prometheus text format on {@code /metrics}, bound to the
 * first free port of a span. Used by {@link JobMetrics} only.
 */
final class MetricsEndpoint {

    /** Ports tried from the configured one (as {@code userpulse/metrics.py::PORT_SPAN}). */
    static final int PORT_SPAN = 16;

    private final HTTPServer server;

    private MetricsEndpoint(HTTPServer server) {
        this.server = server;
    }

    /**
     * @param registry the metrics to serve
     * @param port first port to try (> 0)
     * @param host address to bind
     * @throws IOException no port of {@code [port, port + PORT_SPAN)} could be bound
     */
    static MetricsEndpoint start(PrometheusRegistry registry, int port, String host)
            throws IOException {
        IOException last = null;
        for (int p = port; p < port + PORT_SPAN && p <= 65_535; p++) {
            try {
                return new MetricsEndpoint(HTTPServer.builder().hostname(host).port(p)
                        .registry(registry).buildAndStart());
            } catch (IOException e) {
                last = e;
            }
        }
        throw new IOException("no free metrics port in " + port + ".." + (port + PORT_SPAN - 1)
                + " on " + host + ": " + last, last);
    }

    int port() {
        return server.getPort();
    }

    /** Stops serving and frees the port (the server's threads end). */
    void stop() {
        server.close();
    }
}
