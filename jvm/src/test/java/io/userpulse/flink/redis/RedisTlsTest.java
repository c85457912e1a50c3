package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * The writer over TLS (like {@code tests/integration/test_redis_tls.py}): a CA, a server
 * certificate for localhost / 127.0.0.1 and client certificates made here with {@code openssl},
 * a redis-server with a TLS port that requires client certificates (its plain port is only for
 * the test's own checks).
 */
class RedisTlsTest {

  private static Path dir;
  private static LocalRedis server;
  private static int tlsPort;
  private final Recorder rec = new Recorder();

  @BeforeAll
  static void startTlsServer() throws Exception {
    dir = Files.createTempDirectory("redis-tls-");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "1", "-subj", "/CN=other");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
        "server.key"); // PKCS#8, like test_redis_tls.py writes
    sign("server", "san.ext");
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
        "client.key");
    sign("client", null);
    openssl("genrsa", "-traditional", "-out", "client-rsa.key", "2048"); // PKCS#1
    sign("client-rsa", null);
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "client-ec.key");
    sign("client-ec", null); // SEC1
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256",
        "-pass", "pass:secret", "-out", "encrypted.key");
    tlsPort = LocalRedis.freePort();
    server = new LocalRedis(dir.resolve("server"), LocalRedis.freePort(), List.of(
        "--tls-port", "" + tlsPort, "--tls-cert-file", file("server.crt"),
        "--tls-key-file", file("server.key"), "--tls-ca-cert-file", file("ca.crt"),
        "--tls-auth-clients", "yes", "--bind", "127.0.0.1", "127.0.0.2"));
    server.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @BeforeEach
  void empty() {
    try (Jedis j = server.admin()) {
      j.flushAll();
    }
  }

  private static String file(String name) {
    return dir.resolve(name).toString();
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(cmd + " failed: " + out);
    }
  }

  /** {@code <name>.crt} for {@code <name>.key}, signed by the test CA. */
  private static void sign(String name, String extFile) throws Exception {
    openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + name, "-out", name + ".csr");
    List<String> args = new java.util.ArrayList<>(List.of("x509", "-req", "-in", name + ".csr",
        "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
        "-out", name + ".crt"));
    if (extFile != null) {
      args.addAll(List.of("-extfile", extFile));
    }
    openssl(args.toArray(new String[0]));
  }

  private static RedisConfig.Builder tls(String client) {
    return RedisConfig.builder().host("127.0.0.1").port(tlsPort).timeoutMs(2_000).tls(true)
        .tlsCaFile(file("ca.crt")).tlsCertFile(file(client + ".crt"))
        .tlsKeyFile(file(client + ".key"));
  }

  /** Writes one tile over {@code config} and checks it on the plain port. */
  private void writeAndCheck(RedisConfig config, String user) {
    try (TileWriter<Tile, Profile> w = Fixtures.writer(config, 1_000, 2_000, rec);
        Jedis r = server.admin()) {
      w.stageTile(user, 1000, 1, new Tile(1, "tls"));
      w.stageProfile(user, new Profile(3, "{}"));
      assertEquals(java.util.Set.of(user), w.flush().keySet());
      assertEquals("1;tls", r.hget(Fixtures.key(user), "t:1000:1"));
      assertEquals(new StoredProfile("{}", true), w.readProfile(user));
      assertEquals(0, w.retries());
    }
  }

  @Test
  void writesOverTlsWithAClientCertificateAndTheHostnameChecked() {
    writeAndCheck(tls("client").build(), "t1"); // IP SAN 127.0.0.1
    writeAndCheck(tls("client").host("localhost").build(), "t2"); // DNS SAN
    // 127.0.0.2 is not in the certificate: accepted only without the hostname check
    writeAndCheck(tls("client").host("127.0.0.2").tlsCheckHostname(false).build(), "t3");
  }

  @Test
  void pkcs1RsaAndSec1EcClientKeysAreAccepted() {
    writeAndCheck(tls("client-rsa").build(), "rsa");
    writeAndCheck(tls("client-ec").build(), "ec");
  }

  @Test
  void misconfigurationsAreRefusedAsConnectionErrors() {
    refused(tls("client").host("127.0.0.2").build()); // hostname not in the certificate
    refused(tls("client").tlsCertFile(null).tlsKeyFile(null).build()); // no client certificate
    refused(tls("client").tlsCaFile(file("other-ca.crt")).build()); // server from an unknown CA
    refused(RedisConfig.builder().port(tlsPort).timeoutMs(1_000).build()); // plain TCP
  }

  private void refused(RedisConfig config) {
    Recorder r = new Recorder();
    r.maxSleeps = 0; // stop at the first retry
    try (TileWriter<Tile, Profile> w = Fixtures.writer(config, 1_000, 2_000, r)) {
      w.stageTile("bad", 1000, 1, new Tile(1, "x"));
      assertThrows(RedisStoreException.class, w::flush);
      assertTrue(Thread.interrupted());
      assertInstanceOf(JedisConnectionException.class, r.retries.get(0), config.toString());
      assertTrue(w.isPending("bad"));
    }
    try (Jedis j = server.admin()) {
      assertEquals(0, j.dbSize());
    }
  }

  @Test
  void unreadableOrEncryptedKeyFilesFailAtConstruction() {
    RedisStoreException missing = assertThrows(RedisStoreException.class,
        () -> Fixtures.writer(tls("client").tlsCaFile(file("nope.crt")).build(), 1, 1, rec));
    assertTrue(missing.getMessage().contains("nope.crt"), missing.getMessage());
    RedisStoreException enc = assertThrows(RedisStoreException.class, () -> Fixtures.writer(
        tls("client").tlsKeyFile(file("encrypted.key")).build(), 1, 1, rec));
    assertTrue(enc.getMessage().contains("encrypted"), enc.getMessage());
    RedisStoreException notKey = assertThrows(RedisStoreException.class, () -> Fixtures.writer(
        tls("client").tlsKeyFile(file("client.crt")).build(), 1, 1, rec));
    assertTrue(notKey.getMessage().contains("no PRIVATE KEY"), notKey.getMessage());
  }
}
