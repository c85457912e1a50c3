package io.userpulse.flink.operator;

import io.userpulse.flink.metrics.JobMetrics;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The users of one task still to be rewritten in full because the store lost them (design
 * section 5): all users in keyed state after a store-wide loss, or one user whose keys the write
 * script found gone. A user leaves the set when its full rewrite is staged, either at its next
 * event or in the next batch of the task's rewrite pass ({@link FeatureOperator}). Keeps the
 * gauge {@code userpulse_store_rewrite_pending} and the counter {@code
 * userpulse_store_rewrites_total}. Used from the task's thread.
 */
final class StoreRepair {

    private final LinkedHashSet<String> pending = new LinkedHashSet<>();
    private final JobMetrics metrics;

    StoreRepair(JobMetrics metrics) {
        this.metrics = metrics;
    }

    /** Adds {@code user} (no effect if it is already pending). */
    void add(String user) {
        if (pending.add(user)) {
            metrics.storeRewritePending().inc();
        }
    }

    /** Whether {@code user} was pending; it is not any more (its full rewrite is being staged). */
    boolean take(String user) {
        if (pending.isEmpty() || !pending.remove(user)) {
            return false;
        }
        metrics.storeRewritePending().dec();
        metrics.storeRewrites().inc();
        return true;
    }

    /** Removes and returns up to {@code max} pending users, oldest first. */
    List<String> next(int max) {
        List<String> out = new ArrayList<>(Math.min(max, pending.size()));
        Iterator<String> it = pending.iterator();
        while (it.hasNext() && out.size() < max) {
            out.add(it.next());
            it.remove();
        }
        metrics.storeRewritePending().dec(out.size());
        metrics.storeRewrites().inc(out.size());
        return out;
    }

    /** Counts a store-wide loss found by the task ({@code userpulse_store_losses_total}). */
    void lossFound() {
        metrics.storeLosses().inc();
    }

    /** Users still pending. */
    int size() {
        return pending.size();
    }

    /** Forgets every pending user (the task closes). */
    void clear() {
        metrics.storeRewritePending().dec(pending.size());
        pending.clear();
    }
}
