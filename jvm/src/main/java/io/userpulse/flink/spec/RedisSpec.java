package io.userpulse.flink.spec;

import java.io.Serializable;

/**
 * How the job connects to Redis ({@code redis}). {@link #toString()} never shows the password.
 *
 * @param host server (or cluster seed node) host
 * @param port its port
 * @param db database number (0 on a cluster)
 * @param cluster true for Redis Cluster (MOVED / ASK routing)
 * @param username ACL user, or null for the default user
 * @param password the user's password, or null
 * @param timeoutMs connect and socket timeout, ms
 * @param tls connect with TLS
 * @param tlsCaFile CA bundle (PEM) path, or null for the system trust store
 * @param tlsCertFile client certificate (PEM) path, or null
 * @param tlsKeyFile client key (PEM) path, or null
 * @param tlsCheckHostname verify the server's host name against its certificate
 */
public record RedisSpec(
        String host,
        int port,
        int db,
        boolean cluster,
        String username,
        String password,
        long timeoutMs,
        boolean tls,
        String tlsCaFile,
        String tlsCertFile,
        String tlsKeyFile,
        boolean tlsCheckHostname)
        implements Serializable {

    static RedisSpec parse(SpecReader r) {
        String fix = "fix the redis_* settings";
        return new RedisSpec(
                r.string("host", false),
                (int) r.integer("port", 1, 65535, fix),
                (int) r.integer("db", 0, Integer.MAX_VALUE, fix),
                r.bool("cluster"),
                r.string("username", true),
                r.string("password", true),
                r.integer("timeout_ms", 1, Integer.MAX_VALUE, fix),
                r.bool("tls"),
                r.string("tls_ca_file", true),
                r.string("tls_cert_file", true),
                r.string("tls_key_file", true),
                r.bool("tls_check_hostname"));
    }

    /** Everything but the password (shown as {@code ***} when set). */
    @Override
    public String toString() {
        return "RedisSpec{host=" + host + ", port=" + port + ", db=" + db + ", cluster=" + cluster
                + ", username=" + username + ", password=" + (password == null ? "null" : "***")
                + ", timeoutMs=" + timeoutMs + ", tls=" + tls + ", tlsCaFile=" + tlsCaFile
                + ", tlsCertFile=" + tlsCertFile + ", tlsKeyFile=" + tlsKeyFile
                + ", tlsCheckHostname=" + tlsCheckHostname + "}";
    }
}
