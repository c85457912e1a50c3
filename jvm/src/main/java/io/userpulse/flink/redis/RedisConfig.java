package io.userpulse.flink.redis;

import java.io.Serializable;
import java.util.Objects;

/**
 * How the job's writer connects to Redis: the JVM twin of the {@code redis} part of the job spec
 * ({@code userpulse/jvmspec.py}, built from the {@code redis_*} settings and the {@code job} ACL
 * role of {@code userpulse/redis_acl.py}). An immutable, serializable value (it travels in the
 * job graph); {@link #toString()} never shows the password.
 *
 * <p>Build one with {@link #builder()}; defaults are those of {@code userpulse/settings.py}
 * (127.0.0.1:16379, db 0, 5,000 ms timeout, no AUTH, no TLS, hostname checked, no cluster).
 */
public final class RedisConfig implements Serializable {

  private static final long serialVersionUID = 1L;

  private final String host;
  private final int port;
  private final int db;
  private final String username;
  private final String password;
  private final int timeoutMs;
  private final boolean tls;
  private final String tlsCaFile;
  private final String tlsCertFile;
  private final String tlsKeyFile;
  private final boolean tlsCheckHostname;
  private final boolean cluster;

  private RedisConfig(Builder b) {
    this.host = b.host;
    this.port = b.port;
    this.db = b.db;
    this.username = b.username;
    this.password = b.password;
    this.timeoutMs = (int) b.timeoutMs;
    this.tls = b.tls;
    this.tlsCaFile = b.tlsCaFile;
    this.tlsCertFile = b.tlsCertFile;
    this.tlsKeyFile = b.tlsKeyFile;
    this.tlsCheckHostname = b.tlsCheckHostname;
    this.cluster = b.cluster;
  }

  /** A builder with the defaults of {@code userpulse/settings.py}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this configuration's values (to derive a changed copy). */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.host = host;
    b.port = port;
    b.db = db;
    b.username = username;
    b.password = password;
    b.timeoutMs = timeoutMs;
    b.tls = tls;
    b.tlsCaFile = tlsCaFile;
    b.tlsCertFile = tlsCertFile;
    b.tlsKeyFile = tlsKeyFile;
    b.tlsCheckHostname = tlsCheckHostname;
    b.cluster = cluster;
    return b;
  }

  /** Host of the server, or of any node of the cluster. */
  public String host() {
    return host;
  }

  /** Port of the server (the TLS port when {@link #tls()}), or of any node of the cluster. */
  public int port() {
    return port;
  }

  /** Logical database (always 0 on a cluster). */
  public int db() {
    return db;
  }

  /** ACL user name, or null (AUTH with the password only, or no AUTH). */
  public String username() {
    return username;
  }

  /** Password, or null (no AUTH). Never logged. */
  public String password() {
    return password;
  }

  /** Connect and socket (read) timeout in ms. */
  public int timeoutMs() {
    return timeoutMs;
  }

  /** Whether to connect over TLS. */
  public boolean tls() {
    return tls;
  }

  /** PEM file of the CA certificate(s) to trust, or null (the JVM's default trust store). */
  public String tlsCaFile() {
    return tlsCaFile;
  }

  /** PEM file of the client certificate (chain), or null (no client certificate). */
  public String tlsCertFile() {
    return tlsCertFile;
  }

  /** PEM file of the client key (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted), or null. */
  public String tlsKeyFile() {
    return tlsKeyFile;
  }

  /** Whether the server certificate must name {@link #host()} (DNS name or IP address). */
  public boolean tlsCheckHostname() {
    return tlsCheckHostname;
  }

  /** Whether {@link #host()}:{@link #port()} is a node of a Redis Cluster. */
  public boolean cluster() {
    return cluster;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RedisConfig c)) {
      return false;
    }
    return port == c.port && db == c.db && timeoutMs == c.timeoutMs && tls == c.tls
        && tlsCheckHostname == c.tlsCheckHostname && cluster == c.cluster
        && host.equals(c.host) && Objects.equals(username, c.username)
        && Objects.equals(password, c.password) && Objects.equals(tlsCaFile, c.tlsCaFile)
        && Objects.equals(tlsCertFile, c.tlsCertFile) && Objects.equals(tlsKeyFile, c.tlsKeyFile);
  }

  @Override
  public int hashCode() {
    return Objects.hash(host, port, db, username, timeoutMs, tls, tlsCaFile, cluster);
  }

  /** The settings, the password shown only as set or not ({@code password=***}). */
  @Override
  public String toString() {
    return "RedisConfig{" + (tls ? "rediss://" : "redis://") + host + ":" + port + "/" + db
        + ", username=" + username + ", password=" + (password == null ? "null" : "***")
        + ", timeoutMs=" + timeoutMs + ", tlsCaFile=" + tlsCaFile + ", tlsCertFile="
        + tlsCertFile + ", tlsKeyFile=" + tlsKeyFile + ", tlsCheckHostname=" + tlsCheckHostname
        + ", cluster=" + cluster + "}";
  }

  /** Builder of {@link RedisConfig}; {@link #build()} validates. Not thread-safe. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 16379;
    private int db = 0;
    private String username;
    private String password;
    private long timeoutMs = 5_000;
    private boolean tls;
    private String tlsCaFile;
    private String tlsCertFile;
    private String tlsKeyFile;
    private boolean tlsCheckHostname = true;
    private boolean cluster;

    private Builder() {}

    /** Host name or IP address. */
    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /** Port, 1..65535. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Logical database, &gt;= 0 (0 on a cluster). */
    public Builder db(int db) {
      this.db = db;
      return this;
    }

    /** ACL user name (needs a password), or null. */
    public Builder username(String username) {
      this.username = username;
      return this;
    }

    /** Password, or null for no AUTH. */
    public Builder password(String password) {
      this.password = password;
      return this;
    }

    /** Connect and read timeout in ms, in 1..{@link Integer#MAX_VALUE}. */
    public Builder timeoutMs(long timeoutMs) {
      this.timeoutMs = timeoutMs;
      return this;
    }

    /** Connect over TLS. */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** PEM CA file (null: the JVM's default trust store). */
    public Builder tlsCaFile(String path) {
      this.tlsCaFile = path;
      return this;
    }

    /** PEM client certificate file; set together with {@link #tlsKeyFile}. */
    public Builder tlsCertFile(String path) {
      this.tlsCertFile = path;
      return this;
    }

    /** PEM client key file; set together with {@link #tlsCertFile}. */
    public Builder tlsKeyFile(String path) {
      this.tlsKeyFile = path;
      return this;
    }

    /** Check that the server certificate names the host (default true). */
    public Builder tlsCheckHostname(boolean check) {
      this.tlsCheckHostname = check;
      return this;
    }

    /** The host:port is a node of a Redis Cluster. */
    public Builder cluster(boolean cluster) {
      this.cluster = cluster;
      return this;
    }

    /**
     * The configuration; no I/O (files are read when a connection is made).
     *
     * @throws IllegalArgumentException a value out of range or an inconsistent combination
     *     (the message names the setting)
     */
    public RedisConfig build() {
      require(host != null && !host.isBlank(), "host must not be empty");
      require(port >= 1 && port <= 65535, "port must be in 1..65535, got " + port);
      require(db >= 0, "db must be >= 0, got " + db);
      require(!cluster || db == 0, "db must be 0 on a Redis Cluster, got " + db);
      require(timeoutMs > 0 && timeoutMs <= Integer.MAX_VALUE,
          "timeoutMs must be in 1..2147483647, got " + timeoutMs);
      require(username == null || password != null, "username needs a password");
      require((tlsCertFile == null) == (tlsKeyFile == null),
          "set both tlsCertFile and tlsKeyFile (a client certificate) or neither");
      return new RedisConfig(this);
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }
}
