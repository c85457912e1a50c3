package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.userpulse.flink.tiles.Vectors;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * The JVM layout against {@code vectors/layout.json}, which Python generates from
 * {@code userpulse/layout.py} (the owner of the layout; {@code tests/unit/test_jvm_vectors.py}
 * keeps the committed file equal to a fresh generation, {@code tests/unit/test_layout.py} pins the
 * same values as literals): keys, field names and the profile document's keys.
 */
class RedisLayoutVectorsTest {

  private static final JsonNode DOC = Vectors.json("vectors/layout.json");

  @Test
  void prefixMetaFieldsAndGenerationKey() {
    assertEquals(DOC.get("prefix").textValue(), RedisLayout.PREFIX);
    assertEquals(DOC.get("generation_key").textValue(), RedisLayout.generationKey(RedisLayout.PREFIX));
    assertEquals(DOC.get("meta").get("last_seen").textValue(), RedisLayout.META_LAST_SEEN);
    assertEquals(DOC.get("meta").get("generation").textValue(), RedisLayout.META_GENERATION);
    assertEquals(DOC.get("run_key").textValue(), RedisLayout.runKey(RedisLayout.PREFIX));
    assertEquals(DOC.get("meta").get("premerged").textValue(), RedisLayout.META_PREMERGED);
  }

  @Test
  void runRecordsOfOneServerAndOfEveryPrimary() {
    for (JsonNode r : DOC.get("run_records")) {
      List<String> ids = new ArrayList<>();
      r.get(0).forEach(id -> ids.add(id.textValue()));
      assertEquals(r.get(1).textValue(), RedisLayout.runRecord(ids), ids.toString());
    }
  }

  @Test
  void keysOfTheGoldenUsers() {
    for (JsonNode u : DOC.get("users")) {
      String user = u.get(0).textValue();
      assertEquals(u.get(1).textValue(), RedisLayout.userKey(RedisLayout.PREFIX, user), user);
      assertEquals(u.get(2).textValue(), RedisLayout.profileKey(RedisLayout.PREFIX, user), user);
    }
  }

  @Test
  void tileAndPrunedFieldsAndProfileValue() {
    for (JsonNode t : DOC.get("tile_fields")) {
      assertEquals(t.get(2).textValue(), RedisLayout.tileField(t.get(0).asLong(), t.get(1).asLong()));
    }
    for (JsonNode t : DOC.get("pruned_fields")) {
      assertEquals(t.get(1).textValue(), RedisLayout.prunedField(t.get(0).asLong()));
    }
    for (JsonNode t : DOC.get("premerged_fields")) {
      assertEquals(t.get(1).textValue(), RedisLayout.premergedField(t.get(0).asLong()));
    }
    for (JsonNode t : DOC.get("premerged_meta")) {
      assertEquals(t.get(2).textValue(),
          RedisLayout.premergedMeta(t.get(0).asLong(), t.get(1).asLong()));
    }
    for (JsonNode t : DOC.get("profile_values")) {
      assertEquals(t.get(2).textValue(),
          RedisLayout.encodeProfile(t.get(0).asLong(), t.get(1).textValue()));
    }
  }

  @Test
  void profileDocumentKeys() {
    JsonNode k = DOC.get("profile_keys");
    assertEquals(k.get("counts").textValue(), RedisLayout.PROFILE_COUNTS);
    assertEquals(k.get("first_seen").textValue(), RedisLayout.PROFILE_FIRST_SEEN);
    assertEquals(k.get("last_seen").textValue(), RedisLayout.PROFILE_LAST_SEEN);
    assertEquals(k.get("last_k").textValue(), RedisLayout.PROFILE_LAST_K);
    assertEquals(k.get("session").textValue(), RedisLayout.PROFILE_SESSION);
    assertEquals(k.get("version").textValue(), RedisLayout.PROFILE_VERSION);
    assertEquals(k.get("revived_by").textValue(), RedisLayout.PROFILE_REVIVED_BY);
    assertEquals(k.get("base").textValue(), RedisLayout.PROFILE_BASE);
    List<String> order = List.of(RedisLayout.PROFILE_COUNTS, RedisLayout.PROFILE_FIRST_SEEN,
        RedisLayout.PROFILE_LAST_SEEN, RedisLayout.PROFILE_LAST_K, RedisLayout.PROFILE_SESSION,
        RedisLayout.PROFILE_VERSION, RedisLayout.PROFILE_REVIVED_BY, RedisLayout.PROFILE_BASE);
    for (int i = 0; i < order.size(); i++) {
      assertEquals(DOC.get("profile_key_order").get(i).textValue(), order.get(i));
    }
  }
}
