package io.userpulse.flink.redis;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Objects;

/**
 * The writer's staged users: a map user id -&gt; {@link StagedUser}, handed out whole to a flush
 * ({@link #take()}) and refilled by users a stopped flush did not write ({@link #restage}). The
 * maps and the per-user objects are reused across flushes (little allocation per event).
 */
final class StagedWrites<T, P> {

  /** Staged-user objects kept for reuse across flushes. */
  private static final int MAX_FREE = 4096;

  private HashMap<String, StagedUser<T, P>> pending = new HashMap<>();
  private HashMap<String, StagedUser<T, P>> spare = new HashMap<>();
  private final ArrayDeque<StagedUser<T, P>> free = new ArrayDeque<>();

  /** The staged writes of {@code user}, created empty when there are none. */
  StagedUser<T, P> of(String user) {
    StagedUser<T, P> s = pending.get(user);
    if (s == null) {
      s = free.isEmpty() ? new StagedUser<>() : free.pop();
      pending.put(Objects.requireNonNull(user, "user"), s);
    }
    return s;
  }

  boolean contains(String user) {
    return pending.containsKey(user);
  }

  int size() {
    return pending.size();
  }

  /** Hands every staged user to a flush; staging continues in an empty map. */
  HashMap<String, StagedUser<T, P>> take() {
    HashMap<String, StagedUser<T, P>> batch = pending;
    pending = spare;
    spare = null;
    return batch;
  }

  /** Puts {@code user} of {@code batch} back among the staged users (not written). */
  void restage(HashMap<String, StagedUser<T, P>> batch, String user) {
    StagedUser<T, P> s = batch.remove(user);
    if (s != null && pending.putIfAbsent(user, s) != null) {
      throw new IllegalStateException("user " + user + " staged during its own flush");
    }
  }

  /** Returns the batch's users to the free list and the emptied map for the next {@link #take}. */
  void recycle(HashMap<String, StagedUser<T, P>> batch) {
    for (StagedUser<T, P> s : batch.values()) {
      s.reset();
      if (free.size() < MAX_FREE) {
        free.push(s);
      }
    }
    batch.clear();
    spare = batch;
  }
}
