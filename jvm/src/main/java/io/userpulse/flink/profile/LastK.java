package io.userpulse.flink.profile;

import java.util.Arrays;
import java.util.Objects;

/**
 * One last-k list of a profile: entries (event time ms, event id, item id), newest first, ordered
 * by (time, event id) descending with event ids compared by Unicode code point (Python string
 * order); the same (time, event id) enters once ({@code userpulse/profile._insert_last_k}).
 */
final class LastK {

    final String type;
    long[] times;
    String[] eventIds;
    String[] itemIds;
    /**
     * Cache of each entry's JSON ({@code [t,"event id","item id"]}), null where not built yet: an
     * entry never changes once inserted, and a hot user's profile is written at every flush, so
     * each entry is escaped once instead of once per flush. Not part of equality or state.
     */
    private String[] json;
    int size;

    LastK(String type, int capacity) {
        this.type = type;
        int c = Math.max(capacity, 1);
        times = new long[c];
        eventIds = new String[c];
        itemIds = new String[c];
        json = new String[c];
    }

    /** Python's {@code _insert_last_k(lst, [t, eventId, itemId])} with {@code k} = LAST_K. */
    void insert(long t, String eventId, String itemId, int k) {
        int i = 0;
        int cmp = 1;
        while (i < size && (cmp = compare(times[i], eventIds[i], t, eventId)) > 0) {
            i++;
        }
        if (i < size && cmp == 0) {
            return; // the same event again
        }
        if (i >= k) {
            return;
        }
        if (size == times.length) {
            int c = times.length * 2;
            times = Arrays.copyOf(times, c);
            eventIds = Arrays.copyOf(eventIds, c);
            itemIds = Arrays.copyOf(itemIds, c);
            json = Arrays.copyOf(json, c);
        }
        System.arraycopy(times, i, times, i + 1, size - i);
        System.arraycopy(eventIds, i, eventIds, i + 1, size - i);
        System.arraycopy(itemIds, i, itemIds, i + 1, size - i);
        System.arraycopy(json, i, json, i + 1, size - i);
        times[i] = t;
        eventIds[i] = eventId;
        itemIds[i] = itemId;
        json[i] = null;
        size++;
        if (size > k) {
            for (int j = k; j < size; j++) {
                eventIds[j] = null;
                itemIds[j] = null;
                json[j] = null;
            }
            size = k;
        }
    }

    /** Appends an entry as read from a stored record (no ordering, no dedup: kept as stored). */
    void append(long t, String eventId, String itemId) {
        if (size == times.length) {
            int c = times.length * 2;
            times = Arrays.copyOf(times, c);
            eventIds = Arrays.copyOf(eventIds, c);
            itemIds = Arrays.copyOf(itemIds, c);
            json = Arrays.copyOf(json, c);
        }
        times[size] = t;
        eventIds[size] = eventId;
        itemIds[size] = itemId;
        size++;
    }

    private static int compare(long t1, String id1, long t2, String id2) {
        if (t1 != t2) {
            return t1 < t2 ? -1 : 1;
        }
        return compareCodePoints(id1, id2);
    }

    /** Python's string order (by code point), which differs from String.compareTo above U+FFFF. */
    static int compareCodePoints(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y) {
                if (Character.isSurrogate(x) || Character.isSurrogate(y)) {
                    return Integer.compare(a.codePointAt(i), b.codePointAt(i));
                }
                return x - y;
            }
        }
        return a.length() - b.length();
    }

    void appendJson(StringBuilder sb) {
        PyRepr.appendJsonString(sb, type);
        sb.append(":[");
        for (int i = 0; i < size; i++) {
            if (i > 0) {
                sb.append(',');
            }
            String j = json[i];
            if (j == null) {
                StringBuilder e = new StringBuilder(48);
                e.append('[').append(times[i]).append(',');
                appendNullable(e, eventIds[i]);
                e.append(',');
                appendNullable(e, itemIds[i]);
                j = e.append(']').toString();
                json[i] = j;
            }
            sb.append(j);
        }
        sb.append(']');
    }

    private static void appendNullable(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
        } else {
            PyRepr.appendJsonString(sb, s);
        }
    }

    LastK copy() {
        LastK c = new LastK(type, size);
        System.arraycopy(times, 0, c.times, 0, size);
        System.arraycopy(eventIds, 0, c.eventIds, 0, size);
        System.arraycopy(itemIds, 0, c.itemIds, 0, size);
        System.arraycopy(json, 0, c.json, 0, size);
        c.size = size;
        return c;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LastK l) || l.size != size || !l.type.equals(type)) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            if (times[i] != l.times[i] || !Objects.equals(eventIds[i], l.eventIds[i])
                    || !Objects.equals(itemIds[i], l.itemIds[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + size;
    }
}
