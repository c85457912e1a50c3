package io.userpulse.flink.operator;

import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.redis.RedisServerExtension;
import java.util.Map;
import java.util.TreeMap;
import redis.clients.jedis.Jedis;

/** What the harness tests read back from their real redis-server (layout v1). */
final class StoredValues {

    private StoredValues() {}

    /** The user's tile hash, fields sorted (empty when the key is absent). */
    static Map<String, String> hash(RedisServerExtension redis, String user) {
        try (Jedis j = redis.admin()) {
            return new TreeMap<>(j.hgetAll(RedisLayout.userKey(RedisLayout.PREFIX, user)));
        }
    }

    /** The user's stored profile value ({@code <version>;<json>}), or null. */
    static String profile(RedisServerExtension redis, String user) {
        try (Jedis j = redis.admin()) {
            return j.get(RedisLayout.profileKey(RedisLayout.PREFIX, user));
        }
    }
}
