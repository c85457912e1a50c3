package io.userpulse.flink.profile;

import static io.userpulse.flink.redis.RedisLayout.PROFILE_BASE;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_COUNTS;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_FIRST_SEEN;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_LAST_K;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_LAST_SEEN;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_REVIVED_BY;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_SESSION;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_VERSION;

import java.util.Arrays;

/**
 * One user's non-window state ({@code userpulse/profile.py} {@code Profile}): lifetime counts per
 * event type, first / last seen, the last-k item lists, the sessions a late event may still
 * reach, and the replay guard ({@code rev}, {@code base}). Mutable; {@link ProfileFolder} folds
 * events into it, {@link ProfileSerializer} keeps it in Flink state.
 *
 * <p>Times are UTC epoch ms; {@link #NONE} stands for Python's None. Counts and last-k lists keep
 * the order in which their type names first appeared (Python dict order), so {@link
 * #recordJson()} is byte-identical to {@code Profile.record_json()}.
 */
public final class Profile {

    /** "No time" (Python None) for {@link #firstSeenMs()} and {@link #lastSeenMs()}. */
    public static final long NONE = Long.MIN_VALUE;
    private static final String[] NO_NAMES = new String[0];
    private static final long[] NO_LONGS = new long[0];

    long version;
    String[] countNames = NO_NAMES;
    long[] countValues = NO_LONGS;
    int countSize;
    long firstSeenMs = NONE;
    long lastSeenMs = NONE;
    LastK[] lastK = new LastK[0];
    int lastKSize;
    /** Sessions as (start ms, end ms, events) triples, sorted; the last one is the newest. */
    long[] sessions = NO_LONGS;
    int sessionCount;
    String rev;
    String baseJson;

    /** An empty profile (no events, no revival). */
    public Profile() {}

    /** Events folded in, base included: the profile's write version (only grows). */
    public long version() {
        return version;
    }

    /** Lifetime events of type {@code typeName} (e.g. {@code "CLICK"}); 0 when none. */
    public long count(String typeName) {
        for (int i = 0; i < countSize; i++) {
            if (countNames[i].equals(typeName)) {
                return countValues[i];
            }
        }
        return 0;
    }

    /** Oldest event time, UTC epoch ms, or {@link #NONE}. */
    public long firstSeenMs() {
        return firstSeenMs;
    }

    /** Newest event time, UTC epoch ms, or {@link #NONE}. */
    public long lastSeenMs() {
        return lastSeenMs;
    }

    /** Sessions kept (at least 1 once an event was folded). */
    public int sessionCount() {
        return sessionCount;
    }

    /** Session {@code i} (0 = oldest) as {start ms, end ms, events}. */
    public long[] session(int i) {
        if (i < 0 || i >= sessionCount) {
            throw new IndexOutOfBoundsException(i);
        }
        return Arrays.copyOfRange(sessions, 3 * i, 3 * i + 3);
    }

    /** The event id that revived this profile, or null. */
    public String rev() {
        return rev;
    }

    /** The stored record it was revived from (Python-style JSON without rev / base), or null. */
    public String baseJson() {
        return baseJson;
    }

    /** The last-k list of {@code typeName}, or null when it has none. */
    LastK lastKOf(String typeName) {
        for (int i = 0; i < lastKSize; i++) {
            if (lastK[i].type.equals(typeName)) {
                return lastK[i];
            }
        }
        return null;
    }

    /** The newest entries (time, event id, item id) of {@code typeName}, newest first. */
    public Object[][] lastItems(String typeName) {
        LastK l = lastKOf(typeName);
        if (l == null) {
            return new Object[0][];
        }
        Object[][] out = new Object[l.size][];
        for (int i = 0; i < l.size; i++) {
            out[i] = new Object[] {l.times[i], l.eventIds[i], l.itemIds[i]};
        }
        return out;
    }

    /**
     * The stored document as compact JSON, byte-identical to Python's {@code record_json()}:
     * {@code {"c":{..},"fs":..,"ls":..,"k":{..},"s":[start,end,n]|null,"v":..,"rev":..,"base":..}}
     * (key names: the {@code PROFILE_*} constants of {@code io.userpulse.flink.redis.RedisLayout}; compile-time constants,
     * so the concatenations below fold into literals).
     */
    public String recordJson() {
        StringBuilder sb = new StringBuilder(256);
        appendRecordJson(sb);
        return sb.toString();
    }

    /** Appends {@link #recordJson()} to {@code sb}. */
    public void appendRecordJson(StringBuilder sb) {
        sb.append("{\"" + PROFILE_COUNTS + "\":{");
        for (int i = 0; i < countSize; i++) {
            if (i > 0) {
                sb.append(',');
            }
            PyRepr.appendJsonString(sb, countNames[i]);
            sb.append(':').append(countValues[i]);
        }
        sb.append("},\"" + PROFILE_FIRST_SEEN + "\":");
        appendTime(sb, firstSeenMs);
        sb.append(",\"" + PROFILE_LAST_SEEN + "\":");
        appendTime(sb, lastSeenMs);
        sb.append(",\"" + PROFILE_LAST_K + "\":{");
        for (int i = 0; i < lastKSize; i++) {
            if (i > 0) {
                sb.append(',');
            }
            lastK[i].appendJson(sb);
        }
        sb.append("},\"" + PROFILE_SESSION + "\":");
        if (sessionCount == 0) {
            sb.append("null");
        } else {
            int j = 3 * (sessionCount - 1);
            sb.append('[').append(sessions[j]).append(',').append(sessions[j + 1]).append(',')
                    .append(sessions[j + 2]).append(']');
        }
        sb.append(",\"" + PROFILE_VERSION + "\":").append(version).append(",\"" + PROFILE_REVIVED_BY + "\":");
        if (rev == null) {
            sb.append("null");
        } else {
            PyRepr.appendJsonString(sb, rev);
        }
        sb.append(",\"" + PROFILE_BASE + "\":").append(baseJson == null ? "null" : baseJson).append('}');
    }

    private static void appendTime(StringBuilder sb, long t) {
        if (t == NONE) {
            sb.append("null");
        } else {
            sb.append(t);
        }
    }

    /** A deep copy. */
    public Profile copy() {
        Profile p = new Profile();
        p.version = version;
        p.countNames = Arrays.copyOf(countNames, countSize);
        p.countValues = Arrays.copyOf(countValues, countSize);
        p.countSize = countSize;
        p.firstSeenMs = firstSeenMs;
        p.lastSeenMs = lastSeenMs;
        p.lastK = new LastK[lastKSize];
        for (int i = 0; i < lastKSize; i++) {
            p.lastK[i] = lastK[i].copy();
        }
        p.lastKSize = lastKSize;
        p.sessions = Arrays.copyOf(sessions, 3 * sessionCount);
        p.sessionCount = sessionCount;
        p.rev = rev;
        p.baseJson = baseJson;
        return p;
    }

    /** Value equality (the record and the sessions a late event may still reach). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Profile p)) {
            return false;
        }
        if (p.lastKSize != lastKSize || p.sessionCount != sessionCount) {
            return false;
        }
        for (int i = 0; i < lastKSize; i++) {
            if (!lastK[i].equals(p.lastK[i])) {
                return false;
            }
        }
        return recordJson().equals(p.recordJson())
                && Arrays.equals(sessions, 0, 3 * sessionCount, p.sessions, 0, 3 * sessionCount);
    }

    @Override
    public int hashCode() {
        return recordJson().hashCode();
    }

    @Override
    public String toString() {
        return "Profile" + recordJson();
    }
}
