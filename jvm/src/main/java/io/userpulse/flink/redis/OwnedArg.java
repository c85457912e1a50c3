package io.userpulse.flink.redis;

import java.util.Arrays;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.args.Rawable;

/**
 * A command argument whose array Jedis takes as it is. {@code CommandArguments.add(byte[])}
 * copies every array ({@code RawableFactory.Raw}, Jedis 5.2), so that a caller may reuse it; the
 * write script's arguments are built fresh for each call (or are shared constants nobody
 * changes), and that copy was a quarter of the bytes the job's task thread allocated per event
 * (2026-12-01, {@code FeatureFunctionBenchmark} under JFR's allocation samples). An array given
 * here must not change afterwards.
 */
final class OwnedArg implements Rawable {

  private final byte[] raw;

  private OwnedArg(byte[] raw) {
    this.raw = raw;
  }

  /**
   * Adds {@code raw} to {@code args} without a copy.
   *
   * @param args the command's arguments
   * @param raw the argument's bytes, not null, never changed afterwards
   * @return {@code args}
   */
  static CommandArguments add(CommandArguments args, byte[] raw) {
    return args.add(new OwnedArg(raw));
  }

  @Override
  public byte[] getRaw() {
    return raw;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OwnedArg a && Arrays.equals(raw, a.raw);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(raw);
  }
}
