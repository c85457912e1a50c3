package io.userpulse.flink.profile;

import static io.userpulse.flink.redis.RedisLayout.PROFILE_BASE;
import static io.userpulse.flink.redis.RedisLayout.PROFILE_REVIVED_BY;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.spec.FeatureSpec;
import io.userpulse.flink.spec.JobSpec;
import java.io.Serializable;
import java.util.Arrays;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Folds events into {@link Profile}s and revives profiles from their stored record, exactly as
 * {@code userpulse/profile.py} {@code fold} and {@code revive}: lifetime counts of the lifetime
 * types, first / last seen, last-k lists of the last-k types, session windows with the session gap
 * (merging when a late event bridges two), sessions older than the horizon (watermark - allowed
 * lateness - gap) dropped except the newest, and the replay guard.
 *
 * <p>Immutable configuration (from the spec); thread-safe; {@link Serializable} for the job graph.
 */
public final class ProfileFolder implements Serializable {

    private static final long serialVersionUID = 1L;

    private final FeatureSpec features;
    private final long allowedLatenessMs;

    /**
     * @param features the catalogue (last-k length and types, lifetime types, session gap)
     * @param allowedLatenessMs the job's allowed lateness, ms
     */
    public ProfileFolder(FeatureSpec features, long allowedLatenessMs) {
        this.features = features;
        this.allowedLatenessMs = allowedLatenessMs;
    }

    /** The folder of a job spec. */
    public static ProfileFolder of(JobSpec spec) {
        return new ProfileFolder(spec.features(), spec.job().allowedLatenessMs());
    }

    /**
     * A profile for a user with no job state, about to fold {@code first}.
     *
     * @param storedJsonOrNull the user's stored record JSON (the part after {@code <version>;} of
     *     the profile key), or null when there is none
     * @param first the event that revives the user
     * @return a profile continuing the stored record; when that record was itself revived by
     *     {@code first} (a replay after a restore), continuing its {@code base} instead
     * @throws IllegalArgumentException the stored text is not a JSON object of the record's shape
     */
    public Profile revive(String storedJsonOrNull, Event first) {
        ObjectNode stored = storedJsonOrNull == null ? null : ProfileDoc.parse(storedJsonOrNull);
        if (stored == null) {
            return fresh(first);
        }
        var rev = stored.get(PROFILE_REVIVED_BY);
        boolean replay = rev != null && rev.isTextual() && rev.textValue().equals(first.eventId);
        var base = replay ? stored.get(PROFILE_BASE) : stored;
        if (base == null || base.isNull()) {
            return fresh(first);
        }
        if (!base.isObject()) {
            throw new IllegalArgumentException("stored profile: base must be an object, got "
                    + base.getNodeType());
        }
        ObjectNode doc = ((ObjectNode) base).deepCopy();
        doc.remove(PROFILE_REVIVED_BY);
        doc.remove(PROFILE_BASE);
        Profile p = ProfileDoc.fromDoc(doc);
        p.rev = first.eventId;
        StringBuilder sb = new StringBuilder(256);
        ProfileDoc.appendPython(sb, doc);
        p.baseJson = sb.toString();
        return p;
    }

    private static Profile fresh(Event first) {
        Profile p = new Profile();
        p.rev = first.eventId;
        return p;
    }

    /**
     * Folds counted event {@code e} into {@code p} in place; drops sessions no late event can
     * reach any more.
     *
     * @param p the user's profile
     * @param e a counted event (not late)
     * @param watermarkMs the operator's current watermark, UTC epoch ms ({@code Long.MIN_VALUE}
     *     before the first watermark: nothing is dropped)
     */
    public void fold(Profile p, Event e, long watermarkMs) {
        p.version++;
        long t = e.eventTimeMs;
        EventType type = e.eventType;
        String name = type.name();
        if (features.isLifetimeType(type)) {
            addCount(p, name, 1);
        }
        if (p.firstSeenMs == Profile.NONE || t < p.firstSeenMs) {
            p.firstSeenMs = t;
        }
        if (p.lastSeenMs == Profile.NONE || t > p.lastSeenMs) {
            p.lastSeenMs = t;
        }
        if (e.itemId != null && features.isLastKType(type)) {
            lastKFor(p, name, features.lastK()).insert(t, e.eventId, e.itemId, features.lastK());
        }
        long gap = features.sessionGapMs();
        addToSessions(p, t, gap);
        long horizon = saturatingSubtract(saturatingSubtract(watermarkMs, allowedLatenessMs), gap);
        int drop = 0;
        while (p.sessionCount - drop > 1 && p.sessions[3 * drop + 1] < horizon) {
            drop++;
        }
        if (drop > 0) {
            System.arraycopy(p.sessions, 3 * drop, p.sessions, 0, 3 * (p.sessionCount - drop));
            p.sessionCount -= drop;
        }
    }

    private static long saturatingSubtract(long a, long b) {
        long r = a - b;
        return ((a ^ b) & (a ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    static void addCount(Profile p, String name, long n) {
        for (int i = 0; i < p.countSize; i++) {
            if (p.countNames[i].equals(name)) {
                p.countValues[i] += n;
                return;
            }
        }
        if (p.countSize == p.countNames.length) {
            int c = Math.max(4, p.countSize * 2);
            p.countNames = Arrays.copyOf(p.countNames, c);
            p.countValues = Arrays.copyOf(p.countValues, c);
        }
        p.countNames[p.countSize] = name;
        p.countValues[p.countSize++] = n;
    }

    /** The last-k list of {@code name}, created empty at the end (Python setdefault). */
    static LastK lastKFor(Profile p, String name, int capacity) {
        LastK l = p.lastKOf(name);
        if (l != null) {
            return l;
        }
        if (p.lastKSize == p.lastK.length) {
            p.lastK = Arrays.copyOf(p.lastK, Math.max(2, p.lastKSize * 2));
        }
        l = new LastK(name, capacity);
        p.lastK[p.lastKSize++] = l;
        return l;
    }

    /** Session windows with gap G: events less than G apart share a session (merging). */
    private static void addToSessions(Profile p, long t, long gap) {
        long[] s = p.sessions;
        int n = p.sessionCount;
        long start = t;
        long end = t;
        long events = 1;
        int kept = 0;
        for (int i = 0; i < n; i++) {
            long s0 = s[3 * i];
            long s1 = s[3 * i + 1];
            if (s0 - gap < t && t < s1 + gap) {
                start = Math.min(start, s0);
                end = Math.max(end, s1);
                events += s[3 * i + 2];
            } else {
                if (kept != i) {
                    System.arraycopy(s, 3 * i, s, 3 * kept, 3);
                }
                kept++;
            }
        }
        if (3 * (kept + 1) > s.length) {
            s = p.sessions = Arrays.copyOf(s, Math.max(6, 3 * (kept + 1) * 2));
        }
        // insert (start, end, events) keeping (start, end, events) order: Python's list.sort()
        int at = kept;
        while (at > 0 && compare(s, at - 1, start, end, events) > 0) {
            System.arraycopy(s, 3 * (at - 1), s, 3 * at, 3);
            at--;
        }
        s[3 * at] = start;
        s[3 * at + 1] = end;
        s[3 * at + 2] = events;
        p.sessionCount = kept + 1;
    }

    private static int compare(long[] s, int i, long start, long end, long events) {
        int c = Long.compare(s[3 * i], start);
        if (c == 0) {
            c = Long.compare(s[3 * i + 1], end);
        }
        return c != 0 ? c : Long.compare(s[3 * i + 2], events);
    }
}
