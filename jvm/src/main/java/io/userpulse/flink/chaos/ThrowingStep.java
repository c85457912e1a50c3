package io.userpulse.flink.chaos;

import io.userpulse.flink.event.Event;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.api.common.functions.FilterFunction;

/**
 * A test hook of the fault matrix (issue 12, row 3): a pass-through step that, once armed (the
 * file {@code <dir>/armed} exists), throws an exception on every {@code every}-th event it sees,
 * {@code times} times in total over the life of the job, restarts included. Only the fault-matrix tests insert it (before keying, chained with decode, so
 * the exception fails the same task chain as the feature function's input); the feature job itself
 * never contains it.
 *
 * <p>The total is kept in a folder shared by the TaskManagers of one machine: throw {@code n}
 * creates {@code <dir>/throw-<n>} with create-new semantics (atomic across processes), so each
 * of the {@code times} throws happens exactly once although each restart starts a new instance.
 */
public final class ThrowingStep implements FilterFunction<Event> {
    private static final long serialVersionUID = 1L;

    private final String dir;
    private final int times;
    private final long every;
    private transient long seen;

    /**
     * @param dir folder of the throw markers (created when missing; local file system)
     * @param times throws in total, across restarts (>= 0)
     * @param every throw at every {@code every}-th event an instance sees (>= 1)
     * @throws IllegalArgumentException {@code times} < 0 or {@code every} < 1
     */
    public ThrowingStep(String dir, int times, long every) {
        if (times < 0 || every < 1) {
            throw new IllegalArgumentException("times must be >= 0 and every >= 1");
        }
        this.dir = dir;
        this.times = times;
        this.every = every;
    }

    /**
     * @return true always, or throws
     * @throws InjectedFailure at every {@code every}-th event while armed and fewer than {@code
     *     times} throws happened
     * @throws IOException the marker folder cannot be written
     */
    @Override
    public boolean filter(Event event) throws IOException {
        if (++seen % every != 0 || !Files.exists(Paths.get(dir, "armed"))) {
            return true;
        }
        int n = claim();
        if (n >= 0) {
            throw new InjectedFailure("injected failure " + (n + 1) + " of " + times);
        }
        return true;
    }

    /** The number of the throw this call claims, or -1 when all {@code times} happened. */
    private int claim() throws IOException {
        Path folder = Paths.get(dir);
        Files.createDirectories(folder);
        for (int n = 0; n < times; n++) {
            try {
                Files.createFile(folder.resolve("throw-" + n));
                return n;
            } catch (FileAlreadyExistsException taken) {
                // an earlier throw (this or another instance): try the next number
            }
        }
        return -1;
    }

    /** The exception {@link ThrowingStep} throws: recognisable in the job's exception history. */
    public static final class InjectedFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFailure(String message) {
            super(message);
        }
    }
}
