package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.List;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Non-transactional pipelines to one node: the write calls of a flush (the script loaded first
 * in the same pipeline when the node may not have it), and the two reads of a profile. Replies
 * are read one by one, so after a lost connection exactly the calls whose reply did not arrive
 * are resent.
 */
final class Pipelines {

  private Pipelines() {}

  /**
   * Sends {@code calls} to {@code node} in one pipeline ({@code asking}: each preceded by
   * {@code ASKING}, the node being the target of an ASK) and sorts every reply into {@code round}.
   *
   * @throws RedisStoreException the connection set-up was refused (wrong password, ...)
   */
  static void send(RedisNode node, List<ScriptCall> calls, boolean asking, SendRound round) {
    Connection c;
    try {
      c = node.connection();
    } catch (JedisConnectionException | JedisDataException e) { // unreachable, or LOADING
      for (ScriptCall call : calls) {
        round.retry(call, e);
      }
      return;
    }
    int read = 0;
    try {
      boolean load = !node.scriptLoaded;
      if (load) {
        c.sendCommand(WriteScript.loadCommand());
      }
      for (ScriptCall call : calls) {
        if (asking) {
          c.sendCommand(new CommandArguments(Protocol.Command.ASKING));
        }
        c.sendCommand(call.evalsha);
      }
      if (load) {
        loaded(node, c, round);
      }
      for (; read < calls.size(); read++) {
        JedisDataException err = null;
        if (asking) {
          err = replyError(c);
        }
        Object reply;
        try {
          reply = c.getOne();
        } catch (JedisDataException e) {
          reply = e;
        }
        err = err != null ? err : reply instanceof JedisDataException e ? e : null;
        if (err != null) {
          round.error(node, calls.get(read), err, asking);
        } else if (reply instanceof Long n && n < 0) {
          round.missing.add(calls.get(read).user); // the script found the user's keys gone
        }
      }
    } catch (JedisConnectionException e) { // lost or timed out: the unread calls are unknown
      node.close();
      for (int i = read; i < calls.size(); i++) {
        round.retry(calls.get(i), e);
      }
    }
  }

  /** Reads the SCRIPT LOAD reply: marks the script loaded, or records why it is not. */
  private static void loaded(RedisNode node, Connection c, SendRound round) {
    try {
      Object sha = c.getOne();
      String got = sha instanceof byte[] b ? new String(b, StandardCharsets.US_ASCII) : "" + sha;
      if (!got.equals(WriteScript.SHA1)) {
        round.fatal("SCRIPT LOAD on " + node + " returned " + got + ", expected "
            + WriteScript.SHA1);
      }
      node.scriptLoaded = true;
    } catch (JedisDataException e) { // the calls fail with NOSCRIPT or the same transient error
      if (!RedisErrors.isTransient(e)) {
        round.fatal("SCRIPT LOAD refused by " + node + ": " + e.getMessage());
      }
    }
  }

  /** Reads one reply; its error, or null. */
  private static JedisDataException replyError(Connection c) {
    try {
      c.getOne();
      return null;
    } catch (JedisDataException e) {
      return e;
    }
  }

  /**
   * {@code GET profileKey} and {@code EXISTS key} in one round trip to {@code node} ({@code
   * asking}: each preceded by ASKING).
   *
   * @return the two replies; an error reply is returned as its {@link JedisDataException}
   * @throws JedisConnectionException lost connection or timeout (the node's connection is closed)
   * @throws RedisStoreException the connection set-up was refused
   */
  static Object[] readProfile(RedisNode node, byte[] key, byte[] profileKey, boolean asking) {
    Connection c = node.connection();
    try {
      CommandArguments get = new CommandArguments(Protocol.Command.GET).add(profileKey);
      CommandArguments exists = new CommandArguments(Protocol.Command.EXISTS).add(key);
      for (CommandArguments cmd : new CommandArguments[] {get, exists}) {
        if (asking) {
          c.sendCommand(new CommandArguments(Protocol.Command.ASKING));
        }
        c.sendCommand(cmd);
      }
      Object[] out = new Object[2];
      for (int i = 0; i < 2; i++) {
        JedisDataException askErr = asking ? replyError(c) : null;
        try {
          out[i] = c.getOne();
        } catch (JedisDataException e) {
          out[i] = e;
        }
        if (askErr != null) {
          out[i] = askErr;
        }
      }
      return out;
    } catch (JedisConnectionException e) {
      node.close();
      throw e;
    }
  }
}
