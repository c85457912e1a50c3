package io.userpulse.flink.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The release hook ends prometheus-metrics-core's scheduler thread, which otherwise keeps a
 * job's class loader alive for the TaskManager's whole life. Run in a class loader of its own
 * (as a job's user code is), so this JVM's own scheduler is left alone.
 */
class PrometheusSchedulerTest {

    private static final String SCHEDULER = "io.prometheus.metrics.core.util.Scheduler";

    @Test
    void stopEndsTheSchedulerThreadOfItsClassLoader() throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
            urls.add(new File(p).toURI().toURL());
        }
        try (URLClassLoader job = new URLClassLoader(urls.toArray(new URL[0]),
                ClassLoader.getPlatformClassLoader())) {
            Thread.currentThread().setContextClassLoader(job);
            Class<?> scheduler = Class.forName(SCHEDULER, true, job);
            Runnable noop = () -> { };
            scheduler.getMethod("schedule", Runnable.class, long.class, TimeUnit.class)
                    .invoke(null, noop, 1L, TimeUnit.MILLISECONDS);
            Thread t = schedulerThreadOf(job);
            assertNotNull(t, "the scheduler of the job's class loader started a thread");
            assertSame(job, t.getContextClassLoader(), "the thread holds the job's loader");

            Class<?> hook = Class.forName(PrometheusScheduler.class.getName(), true, job);
            hook.getMethod("stop").invoke(null);

            t.join(5_000);
            assertFalse(t.isAlive(), "the scheduler thread ended");
            assertTrue((Boolean) invokeStopped(hook));
        } finally {
            Thread.currentThread().setContextClassLoader(getClass().getClassLoader());
        }
    }

    private static Object invokeStopped(Class<?> hook) throws Exception {
        var m = hook.getDeclaredMethod("stopped");
        m.setAccessible(true);
        return m.invoke(null);
    }

    private static Thread schedulerThreadOf(ClassLoader loader) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("prometheus-metrics-scheduler")
                        && t.getContextClassLoader() == loader) {
                    return t;
                }
            }
            Thread.sleep(20);
        }
        return null;
    }
}
