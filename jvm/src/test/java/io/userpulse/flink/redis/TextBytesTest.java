package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link TextBytes#bytes()} is {@code toString().getBytes(UTF_8)} for every text: ASCII (the
 * narrowing path), non-ASCII anywhere in it (the fallback), empty, and longer than the scratch;
 * after a non-ASCII value the builder holds UTF-16, and ASCII values still come out right.
 */
class TextBytesTest {

  @Test
  void everyTextGivesItsUtf8InAFreshArray() {
    TextBytes t = new TextBytes(2);
    String[] texts = {
      "", "12;0.5;", "{\"k\":[[1,\"e\",\"i\"]]}", "x".repeat(5_000), "ø;2", "用户😀",
      "ascii after UTF-16 text", "\u007f\u0080", "end ø"
    };
    byte[] previous = null;
    for (String s : texts) {
      t.clear().append(s);
      byte[] got = t.bytes();
      assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), got, s);
      assertNotSame(previous, got);
      previous = got;
    }
  }
}
