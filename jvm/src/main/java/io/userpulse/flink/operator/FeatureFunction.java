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
import io.userpulse.flink.tiles.Tile;
import io.userpulse.flink.tiles.TileRef;
import io.userpulse.flink.tiles.TileSerializer;
import io.userpulse.flink.tiles.TileState;
import io.userpulse.flink.tiles.Touched;
import java.util.ArrayList;
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
 * every write of a user also stages its windows merged as of now, refreshed by a processing-time
 * timer when they stop holding ({@link PremergeKeeper}).
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
    private transient PremergeKeeper premerged;
    private transient long flushTimerAt;

    /**
     * @param spec the job spec (catalogue, lateness, flush settings, Redis connection)
     */
    public FeatureFunction(JobSpec spec) {
        this.spec = spec;
        this.allowedLatenessMs = spec.job().allowedLatenessMs();
        this.flushIntervalMs = spec.job().flushIntervalMs();
        this.flushMaxPending = spec.job().flushMaxPending();
        this.lossRewrite = spec.store().lossRewrite();
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
        premerged = PremergeKeeper.of(spec, getRuntimeContext(), tiles, older, touched, writer);
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
        if (premerged != null) {
            premerged.stage(user, h, e, ctx.timerService());
        }
        metrics.counted().inc();
        ensureFlushTimer(ctx.timerService());
        if (writer.pendingUsers() >= flushMaxPending) {
            flush();
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Void> out) throws Exception {
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            Head h = premerged != null && premerged.takeDue(timestamp) ? head.value() : null;
            if (h != null) {
                premerged.stage(ctx.getCurrentKey(), h, null, ctx.timerService());
                metrics.premergeRefreshes().inc();
                ensureFlushTimer(ctx.timerService());
            }
            if (flushTimerPending && timestamp >= flushTimerAt) {
                flushTimerPending = false;
                flush();
            }
            return;
        }
        expire(ctx.getCurrentKey(), ctx);
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
        if (premerged != null && !dropped.nothingDropped()) {
            premerged.forget(user); // recomputed from the tiles left at the next write
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
            if (premerged != null) {
                premerged.stage(user, h, null, null);
            }
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
