package io.userpulse.flink.operator;

import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.redis.RedisKeyException;
import io.userpulse.flink.redis.WriteFailure;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports a user's key that Redis refuses for good (WRONGTYPE, NOPERM on the key, a stored value
 * that is not layout v1; case H20), on the read of the stored profile or on a write: one
 * dead-letter record per user and error episode, the counter {@code
 * userpulse_store_errors_total{op}}, and a log line. The job goes on: the user's events stay
 * counted in its state, the other users are written.
 *
 * <p>Dead-letter record (JSON, keys sorted): {@code dead_lettered_at_ms} (UTC epoch ms), {@code
 * error_class} ({@value #ERROR_CLASS}), {@code op} ({@code read} or {@code write}), {@code
 * user_id}, {@code key} (the refused key; for a write, the tile hash, with {@code profile_key}
 * beside it since the write script touches both), {@code error} (the Redis error reply) and
 * {@code reason}. It is not an input record: it does not count in {@code
 * userpulse_events_dead_lettered_total}.
 *
 * <p>Once per episode: a user reported is not reported again until one of its writes succeeds
 * (at most {@link #MAX_REMEMBERED} users are remembered, least recently reported forgotten
 * first). Used from the task's thread.
 */
final class StoreFaults {

    /** {@code error_class} of the dead-letter records. */
    static final String ERROR_CLASS = "store_error";
    /** Users remembered as reported. */
    static final int MAX_REMEMBERED = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(StoreFaults.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JobMetrics metrics;
    private Consumer<String> deadLetters;
    private final LinkedHashMap<String, Boolean> reported = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_REMEMBERED;
        }
    };

    /**
     * @param metrics where the counter goes
     * @param deadLetters where the records go (the feature step's side output), or null to log
     *     them only
     */
    StoreFaults(JobMetrics metrics, Consumer<String> deadLetters) {
        this.metrics = metrics;
        this.deadLetters = deadLetters;
    }

    /** Sets where the records go (the operator's side output). */
    void output(Consumer<String> out) {
        this.deadLetters = out;
    }

    /** The revival read of {@code e.user()}'s stored profile was refused. */
    void readRefused(RedisKeyException e) {
        report("read", e.user(), e.key(), null, e.error());
    }

    /** Writes of a flush that Redis refused. */
    void writesRefused(Collection<WriteFailure> failures) {
        for (WriteFailure f : failures) {
            report("write", f.user(), f.key(), f.profileKey(), f.error());
        }
    }

    /** Users whose write succeeded: a later refusal is a new episode. */
    void written(Collection<String> users) {
        if (!reported.isEmpty()) {
            users.forEach(reported::remove);
        }
    }

    private void report(String op, String user, String key, String profileKey, String error) {
        if (reported.put(user, Boolean.TRUE) != null) {
            return;
        }
        metrics.storeErrors(op).inc();
        String reason = "Redis refused the " + op + " of this user's key; the user's events are "
                + "counted in the job's state and written at its next event once the key is fixed";
        LOG.error("store error ({}) for user {} on {}: {}", op, user, key, error);
        if (deadLetters != null) {
            deadLetters.accept(json(op, user, key, profileKey, error, reason,
                    System.currentTimeMillis()));
        }
    }

    /** The dead-letter JSON of one store error (see the class doc). */
    static String json(String op, String user, String key, String profileKey, String error,
            String reason, long nowMs) {
        Map<String, Object> doc = new TreeMap<>();
        doc.put("dead_lettered_at_ms", nowMs);
        doc.put("error_class", ERROR_CLASS);
        doc.put("op", op);
        doc.put("user_id", user);
        doc.put("key", key);
        if (profileKey != null) {
            doc.put("profile_key", profileKey);
        }
        doc.put("error", error);
        doc.put("reason", reason);
        try {
            return JSON.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings and numbers is JSON", e);
        }
    }
}
