package io.userpulse.flink.spec;

import java.io.Serializable;

/**
 * Where the workers serve Prometheus metrics ({@code metrics}).
 *
 * @param port TCP port; 0 = any free port
 * @param host bind address
 */
public record MetricsSpec(int port, String host) implements Serializable {

    static MetricsSpec parse(SpecReader r) {
        return new MetricsSpec((int) r.integer("port", 0, 65535, "fix job_metrics_port"),
                r.string("host", false));
    }
}
