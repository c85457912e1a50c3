package io.userpulse.flink.redis;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import redis.clients.jedis.ClientSetInfoConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Opens Jedis connections from a {@link RedisConfig}, like {@code userpulse/redis_conn.py}
 * does for redis-py: AUTH with user and password (RESP2, no HELLO), SELECT of the database,
 * connect and read timeouts, and TLS with the CA, client certificate and key read from PEM files
 * (read once, here). {@code CLIENT SETINFO} is not sent (the job's ACL user may not run it).
 */
public final class RedisConnections {

  private final RedisConfig config;
  private final JedisClientConfig clientConfig;

  /**
   * Reads the TLS files (when TLS is on); connects to nothing.
   *
   * @param config the connection settings
   * @throws RedisStoreException a TLS file is missing or unreadable
   */
  public RedisConnections(RedisConfig config) {
    this.config = config;
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis(config.timeoutMs())
        .socketTimeoutMillis(config.timeoutMs())
        .database(config.db())
        .clientSetInfoConfig(ClientSetInfoConfig.DISABLED);
    if (config.password() != null) {
      b.user(config.username()).password(config.password());
    }
    if (config.tls()) {
      b.ssl(true).sslSocketFactory(sslSocketFactory(config));
      if (config.tlsCheckHostname()) {
        SSLParameters p = new SSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // RFC 2818: DNS name or IP address SAN
        b.sslParameters(p);
      }
    }
    this.clientConfig = b.build();
  }

  /** The settings these connections are made with. */
  public RedisConfig config() {
    return config;
  }

  /** {@code host:port} of the configured server (or of the cluster node to discover from). */
  public HostAndPort seed() {
    return new HostAndPort(config.host(), config.port());
  }

  /**
   * A new, connected and authenticated connection to the configured server.
   *
   * @throws JedisConnectionException the server cannot be reached (retryable)
   * @throws RedisStoreException AUTH or SELECT refused (wrong password, unknown user, bad db)
   */
  public Connection connect() {
    return connect(seed());
  }

  /**
   * A new, connected and authenticated connection to {@code node} (a cluster node), with the
   * configured credentials and TLS.
   *
   * @throws JedisConnectionException the node cannot be reached (retryable)
   * @throws JedisDataException a transient state (LOADING, ...) during the set-up (retryable)
   * @throws RedisStoreException AUTH or SELECT refused (wrong password, unknown user, bad db)
   */
  public Connection connect(HostAndPort node) {
    try {
      return new Connection(node, clientConfig);
    } catch (JedisDataException e) { // an error reply to AUTH / SELECT (not a lost connection)
      if (RedisErrors.isTransient(e)) {
        throw e;
      }
      throw new RedisStoreException("Redis at " + node + " refused the connection set-up (user "
          + config.username() + ", db " + config.db() + "): " + e.getMessage(), e);
    }
  }

  /**
   * A {@link Jedis} (the convenience client) on the configured server, for tools and tests.
   *
   * @throws JedisConnectionException the server cannot be reached
   */
  public Jedis jedis() {
    return new Jedis(seed(), clientConfig);
  }

  private static SSLSocketFactory sslSocketFactory(RedisConfig c) {
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (c.tlsCaFile() == null) {
        tmf.init((KeyStore) null); // the JVM's default trust store
      } else {
        KeyStore trust = emptyStore();
        List<X509Certificate> cas = PemFiles.certificates(c.tlsCaFile());
        for (int i = 0; i < cas.size(); i++) {
          trust.setCertificateEntry("ca-" + i, cas.get(i));
        }
        tmf.init(trust);
      }
      KeyManagerFactory kmf = null;
      if (c.tlsCertFile() != null) {
        char[] pw = Long.toHexString(new SecureRandom().nextLong()).toCharArray();
        KeyStore keys = emptyStore();
        PrivateKey key = PemFiles.privateKey(c.tlsKeyFile());
        List<X509Certificate> chain = PemFiles.certificates(c.tlsCertFile());
        keys.setKeyEntry("client", key, pw, chain.toArray(new X509Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx.getSocketFactory();
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new RedisStoreException("cannot set up TLS from " + c.tlsCaFile() + ", "
          + c.tlsCertFile() + ", " + c.tlsKeyFile() + ": " + e.getMessage(), e);
    }
  }

  private static KeyStore emptyStore() throws GeneralSecurityException, java.io.IOException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    return ks;
  }
}
