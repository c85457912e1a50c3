package io.userpulse.flink.spec;

import java.io.Serializable;

/**
 * How the job keeps the online store exact when it loses data ({@code store}, optional in the
 * spec; docs/job.md, "When the store loses data").
 *
 * @param lossRewrite whether the job watches for store data loss and rewrites every user it
 *     holds state of (true in production; false only in the control runs of the tests)
 * @param checkIntervalMs how often the job reads the store generation marker and Redis's
 *     {@code run_id}, ms
 */
public record StoreSpec(boolean lossRewrite, long checkIntervalMs) implements Serializable {

    /** The defaults when the spec has no {@code store}: on, every 1,000 ms. */
    public static final StoreSpec DEFAULT = new StoreSpec(true, 1_000);

    static StoreSpec parse(SpecReader r) {
        return new StoreSpec(r.bool("loss_rewrite"), r.integer("check_interval_ms", 10,
                86_400_000, "fix store_check_interval_ms (userpulse/settings.py)"));
    }
}
