package io.userpulse.flink.operator;

import io.userpulse.flink.decode.LateRecord;
import io.userpulse.flink.event.Event;
import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.metrics.PrometheusScheduler;
import io.userpulse.flink.profile.Profile;
import io.userpulse.flink.profile.ProfileFolder;
import io.userpulse.flink.redis.FlushResult;
import io.userpulse.flink.redis.RedisKeyException;
import io.userpulse.flink.redis.StoredProfile;
import io.userpulse.flink.redis.TileWriter;
import io.userpulse.flink.spec.JobSpec;
import io.userpulse.flink.tiles.Expired;
import io.userpulse.flink.tiles.Head;
import io.userpulse.flink.tiles.HeadSerializer;
import io.userpulse.flink.tiles.Premerge;
import io.userpulse.flink.tiles.Tile;
import io.userpulse.flink.tiles.TileRef;
import io.userpulse.flink.tiles.TileSerializer;
import io.userpulse.flink.tiles.TileState;
import io.userpulse.flink.tiles.Touched;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The per-user feature step of the job, keyed by user id: folds each counted event into the
 * user's tiles and profile (keyed state), stages their absolute values to a pipelined Redis
 * writer, routes late events to {@link #lateTag()}, and frees tiles once the watermark has passed
 * their retention (design sections 4 and 5). Generic: windows, tile sizes and aggregations come
 * from the {@link JobSpec} written by the Python catalogue.
 *
 * <p>Lateness: an event is late when {@code event_time < watermark - allowed_lateness} (ms).
 *
 * <p>Flushing: the first staged user of a flush cycle registers a processing-time timer at the
 * next {@code flush_interval_ms} boundary; when it fires (or when {@code flush_max_pending} users
 * are staged) every staged user is written in one pipeline. A checkpoint flushes everything
 * staged before it completes ({@link #snapshotState}), so a write whose events a checkpoint has
 * moved past is in Redis, and a restore never needs to replay it. Redis down or slow: the flush
 * backs off and retries while the task blocks (events wait in Kafka).
 *
 * <p>Restores: a user's state restored from a checkpoint or savepoint is rewritten in full (every
 * tile and the profile) at the user's first event, since Redis may have lost the keys meanwhile
 * (case H19). A user the job holds nothing of is revived from its stored profile (lifetime
 * features outlive the windows; replay-safe, see {@link ProfileFolder#revive}).
 *
 * <p>Pre-merged windows (issue 16, docs/key-layout.md): with {@code premerge_refresh_ms} &gt; 0,
 * every write of a user also stages its windows merged as of now ({@link Premerge}, fields
 * {@code m} and {@code w:<window_ms>}, versioned by the profile's version and T), and a
 * processing-time timer at the earliest {@code valid_until}, rounded up to a multiple of {@code
 * premerge_refresh_ms}, stages them again as of then (kept in keyed state; timers of an older
 * refresh time fire and do nothing). Lookups use them only while they hold, so a late or lost
 * refresh costs lookup time, never exactness.
 *
 * <p>Store faults (docs/job.md, "When the store refuses or loses data"): a user's key Redis
 * refuses for good, on the revival read or a write, is reported by {@link StoreFaults} and the
 * job goes on (case H20). A write holding only what new events touched is applied only if the
 * store still holds the user; a user the store lost is queued in {@link StoreRepair} and staged
 * in full, at its next event or by {@link FeatureOperator}'s rewrite pass (case H22).
 */
public class FeatureFunction extends KeyedProcessFunction<String, Event, Void>
        implements CheckpointedFunction {

    private static final long serialVersionUID = 1L;
    private static final OutputTag<String> LATE = new OutputTag<>("late", Types.STRING);

    private final JobSpec spec;
    private final long allowedLatenessMs;
    private final long flushIntervalMs;
    private final int flushMaxPending;

    private transient ValueState<Head> head;
    private transient MapStateTileStore older;
    private transient TileState tiles;
    private transient ProfileFolder profiles;
    private transient Touched touched;
    private transient TileWriter<Tile, Profile> writer;
    private transient JobMetrics metrics;
    private transient boolean flushTimerPending;
    private transient StoreFaults faults;
    private transient StoreRepair repair;
    private transient boolean lossSuspected;
    private final boolean lossRewrite;
    private final long premergeRefreshMs;
    private transient Premerge premerge;
    private transient long[] premergeWindowsMs;
    private transient ValueState<Long> premergeRefreshAt;
    private transient long flushTimerAt;
    /** Per user, the pre-merged values last staged (not in Flink state: recomputed from the
     * tiles when missing, e.g. after a restore); at most {@link #PREMERGE_CACHE_USERS} users. */
    private transient Map<String, Premerge.Running> premergeCache;
    private static final int PREMERGE_CACHE_USERS = 50_000;

    /**
     * @param spec the job spec (catalogue, lateness, flush settings, Redis connection)
     */
    public FeatureFunction(JobSpec spec) {
        this.spec = spec;
        this.allowedLatenessMs = spec.job().allowedLatenessMs();
        this.flushIntervalMs = spec.job().flushIntervalMs();
        this.flushMaxPending = spec.job().flushMaxPending();
        this.lossRewrite = spec.store().lossRewrite();
        this.premergeRefreshMs = spec.job().premergeRefreshMs();
    }

    /** Side output of late events: JSON records ({@link LateRecord}). */
    public static OutputTag<String> lateTag() {
        return LATE;
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        head = getRuntimeContext().getState(new ValueStateDescriptor<>("head", HeadSerializer.INSTANCE));
        MapState<Long, Tile> map = getRuntimeContext().getMapState(
                new MapStateDescriptor<>("tiles", LongSerializer.INSTANCE, TileSerializer.INSTANCE));
        older = new MapStateTileStore(map);
        tiles = TileState.of(spec);
        profiles = ProfileFolder.of(spec);
        touched = tiles.newTouched();
        getRuntimeContext().registerUserCodeClassLoaderReleaseHookIfAbsent(
                PrometheusScheduler.HOOK_NAME, PrometheusScheduler::stop);
        metrics = JobMetrics.acquire(spec.metrics().port(), spec.metrics().host());
        writer = Writers.create(spec, metrics);
        faults = new StoreFaults(metrics, null);
        repair = new StoreRepair(metrics);
        if (premergeRefreshMs > 0) {
            premerge = new Premerge(spec.features());
            premergeWindowsMs = new long[premerge.windowCount()];
            for (int i = 0; i < premergeWindowsMs.length; i++) {
                premergeWindowsMs[i] = premerge.windowMs(i);
            }
            premergeRefreshAt = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("premerge-refresh", Types.LONG));
            premergeCache = new LinkedHashMap<>(1024, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Premerge.Running> eldest) {
                    return size() > PREMERGE_CACHE_USERS;
                }
            };
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (writer != null) {
                flush();
                writer.close();
            }
        } finally {
            if (repair != null) {
                repair.clear();
            }
            if (metrics != null) {
                metrics.release();
            }
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {
        // keyed state is reached through getRuntimeContext() in open(); nothing operator-wide
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) {
        flush(); // writes staged before the barrier are in Redis before the checkpoint completes
    }

    @Override
    public void processElement(Event e, Context ctx, Collector<Void> out) throws Exception {
        long wm = ctx.timerService().currentWatermark();
        if (e.eventTimeMs < saturatingSub(wm, allowedLatenessMs)) {
            metrics.late().inc();
            ctx.output(LATE, LateRecord.json(e, wm, allowedLatenessMs));
            return;
        }
        String user = ctx.getCurrentKey();
        Head h = head.value();
        if (h == null) {
            h = revive(user, e);
        }
        long cleanup = tiles.fold(h, older, e, touched);
        profiles.fold(h.profile(), e, wm);
        head.update(h);
        if (cleanup != TileState.NONE) {
            ctx.timerService().registerEventTimeTimer(cleanup);
        }
        boolean lost = lossRewrite && repair.take(user);
        if (h.isWritten() && !lost) {
            for (int i = 0; i < touched.size(); i++) {
                writer.stageTile(user, touched.tileMs(i), touched.index(i), touched.tile(i));
            }
            writer.stageProfile(user, h.profile());
            if (lossRewrite) {
                writer.expectStored(user); // applied only if the store still holds the user
            }
        } else {
            restageAll(user, h); // restored state or a store loss: Redis may lack any of it (H19)
        }
        writer.stageLastSeen(user, e.eventTimeMs);
        stagePremerged(user, h, e, ctx.timerService());
        metrics.counted().inc();
        ensureFlushTimer(ctx.timerService());
        if (writer.pendingUsers() >= flushMaxPending) {
            flush();
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Void> out) throws Exception {
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            refreshPremergedIfDue(ctx.getCurrentKey(), timestamp, ctx.timerService());
            if (flushTimerPending && timestamp >= flushTimerAt) {
                flushTimerPending = false;
                flush();
            }
            return;
        }
        expire(ctx.getCurrentKey(), ctx);
    }

    /**
     * Stages the user's windows merged as of now and (with a timer service) sets the refresh
     * timer at the earliest {@code valid_until} rounded up to {@code premerge_refresh_ms}. The
     * values are kept per user in {@link #premergeCache} and updated by the event just folded
     * ({@code e}, its tiles {@link #touched}) while they hold, else computed from every tile.
     *
     * @param e the event just folded, or null (compute from every tile)
     * @param ts the key's timer service, or null (no refresh timer: the operator's rewrite)
     */
    private void stagePremerged(String user, Head h, Event e,
            org.apache.flink.streaming.api.TimerService ts) throws Exception {
        if (premerge == null) {
            return;
        }
        long now = ts != null ? ts.currentProcessingTime() : System.currentTimeMillis();
        long events = h.profile().version();
        Premerge.Running run = premergeCache.get(user);
        if (e != null && run != null && run.events() == events - 1 && premerge.holds(run, now)) {
            premerge.fold(run, e, touched, now, events);
        } else {
            run = premerge.running(tiles.allTiles(h, older), now, events);
            premergeCache.put(user, run);
        }
        long[] until = premerge.validUntilMs(run);
        writer.stagePremerged(user, events, now, premergeWindowsMs, until, run.merged());
        if (ts == null) {
            return;
        }
        long first = Premerge.NONE;
        for (long u : until) {
            if (u != Premerge.NONE && (first == Premerge.NONE || u < first)) {
                first = u;
            }
        }
        if (first == Premerge.NONE) {
            premergeRefreshAt.clear();
            return;
        }
        long due = Math.max(-Math.floorDiv(-first, premergeRefreshMs) * premergeRefreshMs, now + 1);
        Long old = premergeRefreshAt.value();
        if (old == null || old != due) {
            premergeRefreshAt.update(due);
            ts.registerProcessingTimeTimer(due); // an older one fires and finds nothing due
        }
    }

    /** At a processing-time timer: stage the current user's pre-merged windows again if due. */
    private void refreshPremergedIfDue(String user, long timestamp,
            org.apache.flink.streaming.api.TimerService ts) throws Exception {
        if (premerge == null) {
            return;
        }
        Long due = premergeRefreshAt.value();
        if (due == null || due > timestamp) {
            return;
        }
        premergeRefreshAt.clear();
        Head h = head.value();
        if (h == null) {
            return; // state freed: lookups past valid_until take the full path
        }
        stagePremerged(user, h, null, ts);
        metrics.premergeRefreshes().inc();
        ensureFlushTimer(ts);
    }

    /** State for a user the job holds nothing of: continue its stored profile. */
    private Head revive(String user, Event first) {
        if (writer.isPending(user)) {
            flush(); // a just-freed state's last write must be readable first
        }
        StoredProfile stored;
        try {
            stored = writer.readProfile(user);
        } catch (RedisKeyException e) { // H20: report it, go on without the stored profile
            faults.readRefused(e);
            stored = new StoredProfile(null, false);
        }
        Profile p = profiles.revive(stored.json(), first);
        Head h = tiles.newHead(p);
        h.markWritten(); // a new state: every write from here on is staged as it happens
        writer.stagedFull(user);
        long ls = p.lastSeenMs();
        if (stored.json() != null && ls != Profile.NONE && !stored.hashExists()) {
            // the tile hash expired while the profile lived on: historical lookups of the old
            // tiles must say out_of_retention
            for (int i = 0; i < h.slotCount(); i++) {
                long g = spec.features().tileSizeMs(i);
                long mark = Math.min(Math.floorDiv(ls, g), Math.floorDiv(first.eventTimeMs, g) - 1);
                writer.stagePrunedMark(user, g, mark);
            }
        }
        return h;
    }

    private void restageAll(String user, Head h) throws Exception {
        writer.stagedFull(user);
        writer.stageProfile(user, h.profile());
        for (TileRef t : tiles.allTiles(h, older)) {
            writer.stageTile(user, t.tileMs(), t.index(), t.tile());
            long newest = t.tile().maxEventTimeMs();
            if (newest != Tile.NONE) {
                writer.stageLastSeen(user, newest);
            }
        }
        h.markWritten();
    }

    /** Frees tiles past retention; stages their deletion (not at the end of input). */
    private void expire(String user, OnTimerContext ctx) throws Exception {
        Head h = head.value();
        if (h == null) {
            return;
        }
        long wm = ctx.timerService().currentWatermark();
        Expired dropped = tiles.expire(h, older, wm);
        if (premergeCache != null && !dropped.nothingDropped()) {
            premergeCache.remove(user); // recomputed from the tiles left at the next write
        }
        if (dropped.stateFreed()) {
            head.clear();
            older.clear();
        } else {
            head.update(h);
            ctx.timerService().registerEventTimeTimer(dropped.nextCleanupMs());
        }
        if (wm == Long.MAX_VALUE || dropped.nothingDropped()) {
            return; // end of input: free state, keep Redis as it is (its TTL expires it)
        }
        for (int i = 0; i < dropped.slotCount(); i++) {
            long[] ks = dropped.dropped(i);
            if (ks.length > 0) {
                List<Long> idx = new ArrayList<>(ks.length);
                for (long k : ks) {
                    idx.add(k);
                }
                writer.stagePrune(user, dropped.tileMs(i), idx);
            }
        }
        ensureFlushTimer(ctx.timerService());
    }

    private void ensureFlushTimer(org.apache.flink.streaming.api.TimerService ts) {
        if (!flushTimerPending) {
            long now = ts.currentProcessingTime();
            flushTimerAt = (now / flushIntervalMs + 1) * flushIntervalMs;
            ts.registerProcessingTimeTimer(flushTimerAt);
            flushTimerPending = true;
        }
    }

    private void flush() {
        if (writer.pendingUsers() == 0) {
            return;
        }
        FlushResult r = writer.flushAndReport();
        long nowMs = System.currentTimeMillis();
        for (Map.Entry<String, Long> w : r.written().entrySet()) {
            Long newest = w.getValue();
            if (newest != null) {
                metrics.freshnessMs().observe(Math.max(0, nowMs - newest));
            }
        }
        faults.writesRefused(r.failures());
        faults.written(r.written().keySet());
        for (String u : r.missing()) { // the store lost the user: rewrite it in full
            repair.add(u);
            lossSuspected = true;
        }
    }

    // ---- for FeatureOperator: store faults and the rewrite after a store loss ----

    /** Where store-error dead-letter records go (the operator's side output). */
    void storeErrorOutput(java.util.function.Consumer<String> out) {
        faults.output(out);
    }

    /** The task's writer. */
    TileWriter<Tile, Profile> writer() {
        return writer;
    }

    /** The users still to rewrite in full. */
    StoreRepair repair() {
        return repair;
    }

    /** Whether a write found a user's keys gone since the last call (a store loss may be the
     * cause: the operator checks the store at once). */
    boolean takeLossSuspected() {
        boolean s = lossSuspected;
        lossSuspected = false;
        return s;
    }

    /**
     * Stages everything the job holds of {@code user} (the current key of the keyed state
     * backend), if anything.
     */
    void rewriteCurrent(String user) throws Exception {
        Head h = head.value();
        if (h != null) {
            restageAll(user, h);
            stagePremerged(user, h, null, null);
            head.update(h);
        }
    }

    /** Writes everything staged (the operator's rewrite batches). */
    void flushNow() {
        flush();
    }

    private static long saturatingSub(long a, long b) {
        long r = a - b;
        return ((a ^ b) & (a ^ r)) < 0 ? Long.MIN_VALUE : r;
    }
}
