package io.userpulse.flink.operator;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.redis.StoreWatch;
import io.userpulse.flink.spec.JobSpec;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keyed feature step as an operator: {@link FeatureFunction} plus what a function cannot
 * reach, to keep the store exact when it refuses or loses data (design section 5; docs/job.md,
 * "When the store refuses or loses data").
 *
 * <ul>
 *   <li>Store errors of one user (case H20) go to {@link #storeErrorTag()} as dead-letter JSON
 *       ({@link StoreFaults}), also from flushes outside element processing (checkpoints,
 *       timers).
 *   <li>Store loss (case H22): every {@code store.check_interval_ms} (and soon after a write
 *       found a user's keys gone) a processing-time callback asks the {@link StoreWatch}; when
 *       the store lost data it queues every key of the keyed state ({@code getKeys}) in the
 *       {@link StoreRepair} and rewrites them in full in batches of {@code flush_max_pending}
 *       users per callback, each batch flushed, so events keep flowing between batches. A user
 *       with an event meanwhile is rewritten at that event. Writes carry the store generation
 *       (hash field {@code g}); lookups of a user written under an older generation say {@code
 *       rewriting}. The generation is kept in operator state (union list) so a restore knows
 *       which store its state was written to.
 * </ul>
 *
 * With {@code store.loss_rewrite} off (the tests' controls) it behaves like a plain {@link
 * KeyedProcessOperator} of the function, store errors still reported.
 */
public class FeatureOperator extends KeyedProcessOperator<String, Event, Void> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FeatureOperator.class);
    private static final OutputTag<String> STORE_ERRORS = new OutputTag<>("store-errors", Types.STRING);
    /** Name of the keyed state whose keys are the users the job holds state of. */
    static final String HEAD_STATE = "head";

    private final JobSpec spec;
    private transient ListState<Long> generationState;
    private transient long restoredGeneration;
    private transient StoreWatch watch;

    /**
     * @param spec the job spec (its {@code store} part configures the watch)
     */
    public FeatureOperator(JobSpec spec) {
        super(new FeatureFunction(spec));
        this.spec = spec;
    }

    /** Side output of store errors: dead-letter JSON records ({@link StoreFaults}). */
    public static OutputTag<String> storeErrorTag() {
        return STORE_ERRORS;
    }

    private FeatureFunction fn() {
        return (FeatureFunction) userFunction;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        generationState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("store-generation", LongSerializer.INSTANCE));
        long g = 0;
        for (Long x : generationState.get()) {
            g = Math.max(g, x);
        }
        restoredGeneration = g;
    }

    @Override
    public void open() throws Exception {
        super.open();
        fn().storeErrorOutput(json -> output.collect(STORE_ERRORS, new StreamRecord<>(json)));
        if (spec.store().lossRewrite()) { // one server, or every primary of a cluster
            watch = new StoreWatch(Writers.config(spec.redis()), spec.layout().prefix(),
                    restoredGeneration);
            long now = getProcessingTimeService().getCurrentProcessingTime();
            getProcessingTimeService().registerTimer(now, this::tick);
        }
    }

    /** One store check and one rewrite batch; schedules the next. */
    private void tick(long time) throws Exception {
        FeatureFunction f = fn();
        boolean suspected = f.takeLossSuspected();
        if (watch != null) {
            StoreWatch.Check c = watch.check();
            if (c != null) {
                f.writer().setGeneration(c.generation());
                if (c.lost()) {
                    queueAllUsers(c.why(), c.generation());
                }
            }
        }
        if (f.repair().size() > 0) {
            rewriteBatch(spec.job().flushMaxPending());
        }
        boolean more = f.repair().size() > 0 || suspected;
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(
                more ? now + 1 : now + spec.store().checkIntervalMs(), this::tick);
    }

    private void queueAllUsers(String why, long generation) {
        StoreRepair r = fn().repair();
        int before = r.size();
        try (Stream<String> keys = this.<String>getKeyedStateBackend()
                .getKeys(HEAD_STATE, VoidNamespace.INSTANCE)) {
            keys.forEach(r::add);
        }
        r.lossFound();
        LOG.warn("The store lost data ({}): rewriting the {} users of this task in full under "
                + "store generation {}", why, r.size() - before, generation);
    }

    private void rewriteBatch(int max) throws Exception {
        FeatureFunction f = fn();
        List<String> users = f.repair().next(max);
        for (String u : users) {
            setCurrentKey(u);
            f.rewriteCurrent(u);
        }
        f.flushNow();
    }

    @Override
    public void finish() throws Exception {
        while (spec.store().lossRewrite() && fn().repair().size() > 0) {
            rewriteBatch(spec.job().flushMaxPending());
        }
        super.finish();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        generationState.update(List.of(watch == null ? restoredGeneration : watch.generation()));
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            if (watch != null) {
                watch.close();
            }
        }
    }
}
