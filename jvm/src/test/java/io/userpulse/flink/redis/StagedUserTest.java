package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.args.Rawable;

/**
 * The write script's ARGV as {@link StagedUser} builds it through one reused builder: each value
 * is the UTF-8 of {@link RedisLayout}'s string form (non-ASCII included), whatever the builder
 * held before, and Jedis keeps the arrays as they are ({@link OwnedArg}).
 */
class StagedUserTest {

  private static final byte[] TTL = RedisLayout.ascii(86_400);
  private static final byte[] PROFILE_TTL = RedisLayout.ascii(172_800);
  private static final byte[] GENERATION = RedisLayout.ascii(3);

  @Test
  void everyValueIsTheUtf8OfItsLayoutStringThroughOneReusedBuilder() {
    StagedUser<Tile, Profile> s = new StagedUser<>();
    s.lastSeen(1_717_243_201_000L);
    s.profile = new Profile(5, "{\"v\":5,\"ø\":\"用户\"}");
    s.tile(60_000, 28_620_720, new Tile(4, "ø;2"));
    s.tile(3_600_000, 477_012, new Tile(9, "1;2;3"));
    s.delete(60_000, 28_620_000);
    s.prunedMark(60_000, 28_620_001);
    s.premerged(12, 1_717_243_202_000L, new long[] {300_000, 3_600_000},
        new long[] {1_717_243_260_000L, Long.MIN_VALUE},
        new Tile[] {new Tile(7, "a"), new Tile(12, "ø")});
    TextBytes text = new TextBytes(4);
    text.clear().append("left over from the last user, longer than a tile");

    List<String> argv = argv(s, text);

    List<String> expected = List.of(
        "86400", "1717243201000", "172800",
        RedisLayout.encodeProfile(5, "{\"v\":5,\"ø\":\"用户\"}"),
        "2", RedisLayout.tileField(60_000, 28_620_720), "4;ø;2",
        RedisLayout.tileField(3_600_000, 477_012), "9;1;2;3",
        "1", RedisLayout.tileField(60_000, 28_620_000),
        "1", RedisLayout.prunedField(60_000), "28620001",
        "2", RedisLayout.premergedMeta(12, 1_717_243_202_000L),
        RedisLayout.premergedField(300_000), RedisLayout.premergedValue(1_717_243_260_000L, "7;a"),
        RedisLayout.premergedField(3_600_000), RedisLayout.premergedValue(Long.MIN_VALUE, "12;ø"),
        "0", "3");
    assertEquals(expected, argv);
  }

  @Test
  void nothingStagedButATileGivesEmptyProfileAndLastSeen() {
    StagedUser<Tile, Profile> s = new StagedUser<>();
    s.tile(1_000, 1, new Tile(1, "x"));
    s.expectKeys = true;
    assertEquals(List.of("86400", "", "172800", "", "1", "t:1000:1", "1;x", "0", "0", "0", "1",
        "3"), argv(s, new TextBytes(16)));
  }

  @Test
  void jedisKeepsTheArrayItIsGiven() {
    byte[] raw = {'a', 'b'};
    List<Rawable> args = new ArrayList<>();
    OwnedArg.add(new CommandArguments(Protocol.Command.GET), raw).forEach(args::add);
    assertSame(raw, args.get(1).getRaw());
    List<Rawable> copy = new ArrayList<>();
    OwnedArg.add(new CommandArguments(Protocol.Command.GET), new byte[] {'a', 'b'})
        .forEach(copy::add);
    assertEquals(args.get(1), copy.get(1));
    assertEquals(args.get(1).hashCode(), copy.get(1).hashCode());
  }

  private static List<String> argv(StagedUser<Tile, Profile> s, TextBytes text) {
    CommandArguments a = WriteScript.evalsha(new byte[] {'k'}, new byte[] {'p'});
    s.appendArgv(a, TTL, PROFILE_TTL, TextAppender.of(Tile::encode), Profile::version,
        TextAppender.of(Profile::json), GENERATION, text);
    List<String> out = new ArrayList<>();
    int i = 0;
    for (Rawable r : a) {
      if (i++ >= 5) { // EVALSHA sha 2 key profileKey
        out.add(new String(r.getRaw(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }
}
