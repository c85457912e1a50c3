package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;

/**
 * One reused text builder and the step from its text to a value's UTF-8 bytes, without a
 * {@code String} in between when the text is ASCII (every stored value the job writes is:
 * numbers, base64 and JSON with {@code ensure_ascii}). {@code sb.toString().getBytes(UTF_8)}
 * copies the text twice; at 5,000 events/s those copies were 30 % of the bytes the task thread
 * allocated (2026-12-02, {@code FeatureFunctionBenchmark} under JFR's allocation samples).
 * Task thread only.
 */
final class TextBytes {

  private final StringBuilder sb;
  private char[] chars;

  /**
   * @param capacity the builder's and the scratch's starting size in chars (they grow as needed)
   */
  TextBytes(int capacity) {
    sb = new StringBuilder(capacity);
    chars = new char[capacity];
  }

  /** The builder, emptied: append the next value's text to it, then call {@link #bytes()}. */
  StringBuilder clear() {
    sb.setLength(0);
    return sb;
  }

  /**
   * The builder's text as UTF-8: one new array of exactly its length when every char is ASCII
   * (the builder's chars are narrowed through a reused scratch), else through a {@code String}.
   *
   * @return a new array, owned by the caller
   */
  byte[] bytes() {
    int n = sb.length();
    if (chars.length < n) {
      chars = new char[Math.max(n, 2 * chars.length)];
    }
    char[] c = chars;
    sb.getChars(0, n, c, 0);
    byte[] out = new byte[n];
    int seen = 0; // every char OR-ed: one test after the loop keeps the loop branch-free
    for (int i = 0; i < n; i++) {
      char ch = c[i];
      seen |= ch;
      out[i] = (byte) ch;
    }
    return seen < 0x80 ? out : sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
