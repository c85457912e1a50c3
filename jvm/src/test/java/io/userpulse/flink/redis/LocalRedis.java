package io.userpulse.flink.redis;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.Jedis;

/**
 * A {@code redis-server} (from PATH) on a loopback port in its own directory, without
 * persistence, for the tests: {@link #start()}, {@link #stop()} (SIGTERM), {@link #kill()}
 * (SIGKILL), started again on the same port. {@link #admin()} is a plain connection as the
 * default user (no password).
 */
final class LocalRedis implements AutoCloseable {

  final Path dir;
  final int port;
  private final List<String> extraArgs;
  private Process process;

  /**
   * @param dir the server's working directory (created)
   * @param port client port (plain TCP)
   * @param extraArgs further redis-server options
   */
  LocalRedis(Path dir, int port, List<String> extraArgs) throws IOException {
    this.dir = Files.createDirectories(dir);
    this.port = port;
    this.extraArgs = List.copyOf(extraArgs);
  }

  /** A free loopback port (bound, then released). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  /** Starts the server (unless running) and waits until it answers PING (10 s at most). */
  void start() throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      return;
    }
    List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", "" + port,
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--dir", dir.toString(), "--logfile", dir.resolve("redis.log").toString()));
    cmd.addAll(extraArgs);
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Jedis j = admin()) {
        if ("PONG".equals(j.ping())) {
          return;
        }
      } catch (RuntimeException e) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("redis-server on " + port + " did not start: "
              + Files.readString(dir.resolve("redis.log")), e);
        }
      }
      Thread.sleep(20);
    }
  }

  /** Stops the server (SIGTERM) and waits for it. */
  void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Kills the server (SIGKILL), as a crash. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** A new plain connection to the server as the default user. */
  Jedis admin() {
    return new Jedis("127.0.0.1", port, 5_000);
  }

  /** Stops the server and deletes its directory. */
  @Override
  public void close() throws IOException, InterruptedException {
    kill();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
