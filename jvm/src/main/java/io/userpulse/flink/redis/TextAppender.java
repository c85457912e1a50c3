package io.userpulse.flink.redis;

import java.util.function.Function;

/**
 * Appends a value's stored text (a tile's {@code n;...}, a profile's JSON) to a builder. The
 * writer encodes every value of a flush into one reused builder, so a value costs the writer two
 * arrays of its length (the text and its UTF-8), not a builder of its own as well.
 *
 * @param <V> the value type
 */
@FunctionalInterface
public interface TextAppender<V> {

  /**
   * Appends {@code value}'s text to {@code sb}.
   *
   * @param sb the builder, not null; what it holds already stays in front
   * @param value the value, not null
   */
  void appendTo(StringBuilder sb, V value);

  /**
   * An appender of what {@code text} returns (for values that only have a {@code String} form).
   *
   * @param text the value's text, not null
   * @param <V> the value type
   * @return {@code (sb, v) -> sb.append(text.apply(v))}
   */
  static <V> TextAppender<V> of(Function<V, String> text) {
    return (sb, v) -> sb.append(text.apply(v));
  }
}
