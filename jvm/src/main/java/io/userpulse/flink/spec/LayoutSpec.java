package io.userpulse.flink.spec;

import java.io.Serializable;

/**
 * The Redis key layout parameters ({@code layout}; the layout itself is {@code userpulse/layout.py}).
 *
 * @param prefix key prefix with the layout version, e.g. {@code up:v1}
 * @param ttlS TTL of a user's tile hash, s, refreshed on every write
 * @param profileTtlS TTL of a user's profile key, s, refreshed on every write
 */
public record LayoutSpec(String prefix, long ttlS, long profileTtlS) implements Serializable {

    static LayoutSpec parse(SpecReader r) {
        String fix = "fix the redis_ttl_s / redis_profile_ttl_s settings";
        String prefix = r.string("prefix", false);
        if (prefix.isEmpty()) {
            throw SpecReader.fail(r.path("prefix"), "must not be empty", SpecReader.REGENERATE);
        }
        return new LayoutSpec(prefix, r.integer("ttl_s", 1, Long.MAX_VALUE, fix),
                r.integer("profile_ttl_s", 1, Long.MAX_VALUE, fix));
    }
}
