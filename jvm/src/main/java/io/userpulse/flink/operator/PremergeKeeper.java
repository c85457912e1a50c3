package io.userpulse.flink.operator;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.profile.Profile;
import io.userpulse.flink.redis.TileWriter;
import io.userpulse.flink.spec.JobSpec;
import io.userpulse.flink.tiles.Head;
import io.userpulse.flink.tiles.Premerge;
import io.userpulse.flink.tiles.Tile;
import io.userpulse.flink.tiles.TileState;
import io.userpulse.flink.tiles.TileStore;
import io.userpulse.flink.tiles.Touched;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.TimerService;

/**
 * The pre-merged windows of {@link FeatureFunction}'s users (issue 16, docs/key-layout.md,
 * "Pre-merged windows"): every write of a user also stages its windows merged as of now ({@link
 * Premerge}, fields {@code m} and {@code w:<window_ms>}, versioned by the profile's version and
 * T), and a processing-time timer at the earliest {@code valid_until}, rounded up to a multiple
 * of {@code premerge_refresh_ms}, stages them again as of then. The refresh time is kept in keyed
 * state ({@code premerge-refresh}); timers of an older refresh time fire and do nothing. The
 * merged values themselves are a per-task cache of {@link #CACHE_USERS} users (not in Flink
 * state): a user missing from it is merged again from every tile. Lookups use the values only
 * while they hold, so a late or lost refresh costs lookup time, never exactness.
 *
 * <p>Used from the task's thread only, with the key of the keyed state backend set to the user.
 */
final class PremergeKeeper {

    /** Users whose running merges a task keeps (least recently written dropped first). */
    static final int CACHE_USERS = 50_000;

    private final Premerge premerge;
    private final long refreshMs;
    private final long[] windowsMs;
    private final ValueState<Long> refreshAt;
    private final Map<String, Premerge.Running> cache;
    private final TileState tiles;
    private final TileStore older;
    private final Touched touched;
    private final TileWriter<Tile, Profile> writer;

    private PremergeKeeper(JobSpec spec, RuntimeContext ctx, TileState tiles,
            TileStore older, Touched touched, TileWriter<Tile, Profile> writer) {
        this.premerge = new Premerge(spec.features());
        this.refreshMs = spec.job().premergeRefreshMs();
        this.windowsMs = new long[premerge.windowCount()];
        for (int i = 0; i < windowsMs.length; i++) {
            windowsMs[i] = premerge.windowMs(i);
        }
        this.refreshAt = ctx.getState(new ValueStateDescriptor<>("premerge-refresh", Types.LONG));
        this.cache = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Premerge.Running> eldest) {
                return size() > CACHE_USERS;
            }
        };
        this.tiles = tiles;
        this.older = older;
        this.touched = touched;
        this.writer = writer;
    }

    /**
     * The keeper of an opened {@link FeatureFunction}, or null when {@code premerge_refresh_ms}
     * is 0 (no pre-merged windows).
     *
     * @param touched the tiles the event just folded touched (shared with the function)
     */
    static PremergeKeeper of(JobSpec spec, RuntimeContext ctx, TileState tiles,
            TileStore older, Touched touched, TileWriter<Tile, Profile> writer) {
        return spec.job().premergeRefreshMs() > 0
                ? new PremergeKeeper(spec, ctx, tiles, older, touched, writer) : null;
    }

    /**
     * Stages the user's windows merged as of now and (with a timer service) sets the refresh
     * timer. The cached values are updated by the event just folded ({@code e}) while they hold,
     * else computed from every tile.
     *
     * @param e the event just folded, or null (compute from every tile)
     * @param ts the key's timer service, or null (no refresh timer: the operator's rewrite)
     * @throws Exception reading the keyed state
     */
    void stage(String user, Head h, Event e, TimerService ts) throws Exception {
        long now = ts != null ? ts.currentProcessingTime() : System.currentTimeMillis();
        long events = h.profile().version();
        Premerge.Running run = cache.get(user);
        if (e != null && run != null && run.events() == events - 1 && premerge.holds(run, now)) {
            premerge.fold(run, e, touched, now, events);
        } else {
            run = premerge.running(tiles.allTiles(h, older), now, events);
            cache.put(user, run);
        }
        long[] until = premerge.validUntilMs(run);
        writer.stagePremerged(user, events, now, windowsMs, until, run.merged());
        if (ts != null) {
            setRefreshTimer(until, now, ts);
        }
    }

    private void setRefreshTimer(long[] until, long now, TimerService ts) throws Exception {
        long first = Premerge.NONE;
        for (long u : until) {
            if (u != Premerge.NONE && (first == Premerge.NONE || u < first)) {
                first = u;
            }
        }
        if (first == Premerge.NONE) {
            refreshAt.clear();
            return;
        }
        long due = Math.max(-Math.floorDiv(-first, refreshMs) * refreshMs, now + 1);
        Long old = refreshAt.value();
        if (old == null || old != due) {
            refreshAt.update(due);
            ts.registerProcessingTimeTimer(due); // an older one fires and finds nothing due
        }
    }

    /**
     * At a processing-time timer of the current user: whether the refresh of its pre-merged
     * windows is due at {@code timestamp} (ms); if so it is taken (the caller stages them again
     * with {@link #stage} when the user still has state; a freed user's lookups past
     * valid_until take the full path).
     *
     * @throws Exception reading the keyed state
     */
    boolean takeDue(long timestamp) throws Exception {
        Long due = refreshAt.value();
        if (due == null || due > timestamp) {
            return false;
        }
        refreshAt.clear();
        return true;
    }

    /** Drops the user's cached values (tiles were pruned: recomputed at the next write). */
    void forget(String user) {
        cache.remove(user);
    }
}
