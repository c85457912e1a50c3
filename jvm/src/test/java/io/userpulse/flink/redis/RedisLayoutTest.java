package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden tests of layout v1: the same inputs and outputs as {@code tests/unit/test_layout.py};
 * slots pinned from redis-py's {@code redis.crc.key_slot} of the same keys.
 */
class RedisLayoutTest {

  private static final String P = RedisLayout.PREFIX;

  @Test
  void goldenKeysAndFields() {
    assertEquals("up:v1", P);
    assertEquals("up:v1:{u1}", RedisLayout.userKey(P, "u1"));
    assertEquals("up:v1:{a%7Db%7Bc%25}", RedisLayout.userKey(P, "a}b{c%"));
    assertEquals("up:v1:{ø}", RedisLayout.userKey(P, "ø"));
    assertEquals("t:1000:1717243201", RedisLayout.tileField(1000, 1717243201));
    assertEquals("p:1440000", RedisLayout.prunedField(1_440_000));
    assertEquals("ls", RedisLayout.META_LAST_SEEN);
  }

  @Test
  void profileKeyAndValue() {
    assertEquals("up:v1:{u1}:p", RedisLayout.profileKey(P, "u1"));
    assertEquals("up:v1:{a%7Db}:p", RedisLayout.profileKey(P, "a}b"));
    assertEquals("7;{\"v\":7}", RedisLayout.encodeProfile(7, "{\"v\":7}"));
    assertEquals("{\"v\":7}", RedisLayout.decodeProfileJson(bytes("7;{\"v\":7}")));
    assertEquals("", RedisLayout.decodeProfileJson(bytes("12;")));
    assertThrows(IllegalArgumentException.class, () -> RedisLayout.decodeProfileJson(bytes("{}")));
    assertThrows(IllegalArgumentException.class, () -> RedisLayout.decodeProfileJson(bytes(";x")));
  }

  /** Redis Cluster hash tag rule (cluster spec, "Hash tags"), on strings. */
  private static String hashTag(String key) {
    int s = key.indexOf('{');
    if (s >= 0) {
      int e = key.indexOf('}', s + 1);
      if (e > s + 1) {
        return key.substring(s + 1, e);
      }
    }
    return key;
  }

  @ParameterizedTest
  @ValueSource(strings = {"u1", "}x", "{}", "a}b", "%7D",
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
  void hashTagIsTheEscapedUserAndUsersDoNotCollide(String user) {
    assertEquals(RedisLayout.userTag(user), hashTag(RedisLayout.userKey(P, user)));
    assertNotEquals(RedisLayout.userKey(P, user), RedisLayout.userKey(P, user + "}"));
    assertNotEquals(RedisLayout.userTag(user), RedisLayout.userTag(user.replace("}", "%7D") + "x"));
    assertEquals(RedisLayout.keySlot(RedisLayout.userKey(P, user)),
        RedisLayout.keySlot(RedisLayout.profileKey(P, user)));
  }

  @Test
  void keySlotGolden() {
    assertEquals(0x31C3, Crc16.xmodem(bytes("123456789"), 0, 9)); // CRC16-XMODEM check value
    assertEquals(12739, RedisLayout.keySlot("123456789"));
    assertEquals(12182, RedisLayout.keySlot("foo"));
    assertEquals(8363, RedisLayout.keySlot("foo{}{bar}")); // empty tag: the whole key
    assertEquals(4015, RedisLayout.keySlot("foo{{bar}}zap")); // tag "{bar"
    assertEquals(RedisLayout.keySlot("bar"), RedisLayout.keySlot("foo{bar}zap"));
    // redis.crc.key_slot(userpulse.layout.user_key(u).encode()) of the golden users
    String[] users = {"u1", "a}b{c%", "ø", "}x", "{}", "a}b", "%7D", "x".repeat(128)};
    int[] slots = {4574, 11494, 9684, 13737, 10163, 13663, 4213, 471};
    for (int i = 0; i < users.length; i++) {
      assertEquals(slots[i], RedisLayout.keySlot(RedisLayout.userKey(P, users[i])), users[i]);
    }
  }

  @Test
  void byteBuildersMatchTheStrings() {
    long[] values = {0, 1, 9, 10, 999, 1023, 1024, 60_000, 1717243201, Long.MAX_VALUE, -1, -1234};
    for (long g : values) {
      assertArrayEquals(bytes(Long.toString(g)), RedisLayout.ascii(g));
      assertArrayEquals(bytes(RedisLayout.prunedField(g)), RedisLayout.prunedFieldBytes(g));
      for (long k : values) {
        assertArrayEquals(bytes(RedisLayout.tileField(g, k)), RedisLayout.tileFieldBytes(g, k));
      }
    }
    for (String u : new String[] {"u1", "a}b{c%", "ø", "用户"}) {
      byte[] key = RedisLayout.userKeyBytes(P, u);
      assertArrayEquals(bytes(RedisLayout.userKey(P, u)), key);
      assertArrayEquals(bytes(RedisLayout.profileKey(P, u)), RedisLayout.profileKeyBytes(key));
      assertEquals(RedisLayout.keySlot(RedisLayout.userKey(P, u)), RedisLayout.keySlot(key));
    }
  }

  @Test
  void writeScriptIsPinned() {
    // a change of the script is a change of the layout's write rules: docs/key-layout.md
    assertEquals("8279d126fa4647320990d47fbcc4de2456ddba9c", WriteScript.SHA1);
    assertEquals(2301, WriteScript.SOURCE.length());
  }

  @Test
  void generationMarkerAndField() {
    assertEquals("up:v1:gen", RedisLayout.generationKey(P));
    assertEquals("up:v1:run", RedisLayout.runKey(P));
    assertEquals("g", RedisLayout.META_GENERATION);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
