package io.userpulse.flink.metrics;

import io.prometheus.metrics.core.util.Scheduler;
import java.lang.reflect.Field;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops the thread that prometheus-metrics-core starts for itself, so a finished job's class
 * loader can be unloaded.
 *
 * <p>{@code io.prometheus.metrics.core.util.Scheduler} (client_java 1.3) keeps a static {@code
 * ScheduledExecutorService} whose one daemon thread ({@code prometheus-metrics-scheduler-0})
 * starts when the class is loaded (histograms load it) and never ends. Loaded from the job jar,
 * that thread holds the job's user-code class loader: each job submitted to a session cluster
 * left ~2,900 classes (~30 MB of Metaspace) in every TaskManager it ran on, until the
 * TaskManager died of {@code OutOfMemoryError: Metaspace} after about a dozen submissions.
 * Flink's answer for user-code threads is a release hook of the user-code class loader (Flink
 * docs, "Debugging Classloading": unloading of dynamically loaded classes); {@link #HOOK_NAME}
 * is registered once per class loader by the operators that use the metrics.
 */
public final class PrometheusScheduler {

    /** Name of the class-loader release hook (registered once per job class loader). */
    public static final String HOOK_NAME = "userpulse-prometheus-scheduler";

    private static final Logger LOG = LoggerFactory.getLogger(PrometheusScheduler.class);

    private PrometheusScheduler() {}

    /**
     * Shuts the scheduler's executor down now (its thread ends). Metrics of this class loader
     * must not be used afterwards. Never throws: a client version without the field is logged.
     */
    public static void stop() {
        try {
            Field f = Scheduler.class.getDeclaredField("executor");
            f.setAccessible(true);
            ((ExecutorService) f.get(null)).shutdownNow();
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("could not stop prometheus-metrics-core's scheduler thread; the job's class"
                    + " loader may stay in Metaspace: {}", e.toString());
        }
    }

    /** Whether the scheduler's executor has been shut down (for tests). */
    static boolean stopped() throws ReflectiveOperationException {
        Field f = Scheduler.class.getDeclaredField("executor");
        f.setAccessible(true);
        return ((ExecutorService) f.get(null)).isShutdown();
    }
}
