package io.userpulse.flink.operator;

import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.profile.Profile;
import io.userpulse.flink.redis.RedisConfig;
import io.userpulse.flink.redis.RedisErrors;
import io.userpulse.flink.redis.RetryPolicy;
import io.userpulse.flink.redis.TileWriter;
import io.userpulse.flink.redis.WriterListener;
import io.userpulse.flink.spec.JobSpec;
import io.userpulse.flink.spec.RedisSpec;
import io.userpulse.flink.tiles.Tile;
import io.userpulse.flink.tiles.TileCodec;

/** Builds the feature step's {@link TileWriter} from the job spec, with its metrics hooks. */
final class Writers {

    private Writers() {}

    /** The Redis connection settings of {@code spec} (the job's ACL user). */
    static RedisConfig config(RedisSpec r) {
        return RedisConfig.builder()
                .host(r.host())
                .port(r.port())
                .db(r.db())
                .username(r.username())
                .password(r.password())
                .timeoutMs((int) r.timeoutMs())
                .tls(r.tls())
                .tlsCaFile(r.tlsCaFile())
                .tlsCertFile(r.tlsCertFile())
                .tlsKeyFile(r.tlsKeyFile())
                .tlsCheckHostname(r.tlsCheckHostname())
                .cluster(r.cluster())
                .build();
    }

    /**
     * A writer of tiles ({@link TileCodec}) and profiles ({@link Profile#appendRecordJson}) with the
     * spec's key prefix and TTLs; retries (also by state), flush times and whether the writer
     * waits for Redis ({@code userpulse_store_blocked}) go to {@code metrics}.
     */
    static TileWriter<Tile, Profile> create(JobSpec spec, JobMetrics metrics) {
        WriterListener listener = new WriterListener() {
            private boolean blocked;

            @Override
            public void onRetry(Exception cause) {
                metrics.redisWriteRetries().inc();
                metrics.storeRetries(RedisErrors.state(cause)).inc();
                if (!blocked) {
                    blocked = true;
                    metrics.storeBlocked().inc();
                }
            }

            @Override
            public void onFlush(long nanos, int users) {
                metrics.redisWriteSeconds().observe(nanos / 1e9);
                onRecovered();
            }

            @Override
            public void onRecovered() {
                if (blocked) {
                    blocked = false;
                    metrics.storeBlocked().dec();
                }
            }
        };
        return new TileWriter<>(
                config(spec.redis()),
                spec.layout().prefix(),
                spec.layout().ttlS(),
                spec.layout().profileTtlS(),
                TileCodec::appendTo,
                Profile::version,
                (sb, p) -> p.appendRecordJson(sb),
                RetryPolicy.DEFAULT,
                listener);
    }
}
