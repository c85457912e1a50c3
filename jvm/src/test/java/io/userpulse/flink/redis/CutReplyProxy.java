package io.userpulse.flink.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP proxy to Redis that forwards everything, except that on the first connection whose
 * requests contain an EVALSHA it drops the replies and closes both sides once Redis has answered
 * (the write applied, its reply lost: case H14). Later connections pass through.
 */
final class CutReplyProxy implements AutoCloseable {

  private final int upstreamPort;
  private final ServerSocket server;
  private final AtomicBoolean armed = new AtomicBoolean(true);
  /** Set once a reply was dropped and the connection cut. */
  final AtomicBoolean cut = new AtomicBoolean();

  CutReplyProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0);
    Thread t = new Thread(this::accept, "cut-reply-proxy");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (true) {
      try {
        Socket client = server.accept();
        Socket up = new Socket("127.0.0.1", upstreamPort);
        AtomicBoolean evalSeen = new AtomicBoolean();
        boolean mayCut = armed.get();
        pump(client, up, bytes -> {
          if (mayCut && new String(bytes, StandardCharsets.ISO_8859_1).contains("EVALSHA")
              && armed.compareAndSet(true, false)) {
            evalSeen.set(true);
          }
          return true;
        });
        pump(up, client, bytes -> {
          if (!evalSeen.get()) {
            return true;
          }
          try {
            Thread.sleep(50); // Redis has answered: the write is applied
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          cut.set(true);
          closeQuietly(client);
          closeQuietly(up);
          return false;
        });
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private interface Filter {
    boolean forward(byte[] chunk);
  }

  private static void pump(Socket from, Socket to, Filter filter) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[65536];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          byte[] chunk = java.util.Arrays.copyOf(buf, n);
          if (!filter.forward(chunk)) {
            return;
          }
          out.write(chunk);
          out.flush();
        }
      } catch (IOException e) {
        // one side closed
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    });
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
