package io.userpulse.flink.operator;

import static io.userpulse.flink.operator.FeatureHarness.click;
import static io.userpulse.flink.operator.FeatureHarness.hover;
import static io.userpulse.flink.operator.FeatureHarness.scroll;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.redis.RedisLayout;
import java.util.Map;
import java.util.TreeMap;

/**
 * Expected values of the harness tests, computed by hand from the layout (docs/key-layout.md):
 * times, tile indices, sketch strings ({@code sketch.encode} of the BLAKE2b-32 hashes of item ids,
 * {@code userpulse/sketch.py}, computed once with Python's hashlib), and the "standard" user: five
 * events over several tiles of every size with their tile hash and profile.
 */
final class Expected {

    private Expected() {}

    /** 2026-11-30T00:00:00Z: a multiple of every tile size. */
    static final long T0 = 1_795_996_800_000L;
    static final long LATENESS_MS = 600_000;
    static final long K1 = T0 / 1_000;
    static final long K5 = T0 / 5_000;
    static final long K60 = T0 / 60_000;
    static final long K24 = T0 / 1_440_000;
    static final long DAY_MS = 86_400_000;

    // sketch.encode of the hashes of these item ids
    static final String I1 = "9GXbIQ==";
    static final String I3 = "4HKbCw==";
    static final String I4 = "bW0x/g==";
    static final String I5 = "Eo55Ig==";
    static final String I1_I2 = "tfeN3PRl2yE=";
    static final String I1_I5 = "Eo55IvRl2yE=";
    static final String I3_I4 = "bW0x/uBymws=";
    static final String I1_I2_I3 = "tfeN3OBymwv0Zdsh";
    /** Sorted hashes: i5 0x128e7922, i2 0xb5f78ddc, i1 0xf465db21. */
    static final String I1_I2_I5 = "Eo55IrX3jdz0Zdsh";

    /** A tile value: its parts up to the max event time, then the max event time. */
    static String tile(String partsBeforeMaxEventTime, long maxEventTimeMs) {
        return partsBeforeMaxEventTime + ";" + maxEventTimeMs;
    }

    // ---- the standard user ----

    /** e1..e5 of {@code user}: tiles 1 s K1, K1+1, K1+6, K1+61; 5 s K5, K5+1, K5+12; ... */
    static Event[] standard(String user) {
        return new Event[] {
            click(user, "e1", T0 + 100, "i1"),
            hover(user, "e2", T0 + 200, "i2", 300),
            scroll(user, "e3", T0 + 1_500, 0.5),
            hover(user, "e4", T0 + 6_000, "i1", 120),
            click(user, "e5", T0 + 61_000, "i3"),
        };
    }

    /** The tile hash after {@link #standard}. */
    static Map<String, String> standardHash() {
        Map<String, String> m = new TreeMap<>();
        m.put(RedisLayout.tileField(1_000, K1), tile("2;1;0;1;300;300;;" + I1_I2, T0 + 200));
        m.put(RedisLayout.tileField(1_000, K1 + 1), tile("1;0;1;0;0;;0.5;", T0 + 1_500));
        m.put(RedisLayout.tileField(1_000, K1 + 6), tile("1;0;0;1;120;120;;" + I1, T0 + 6_000));
        m.put(RedisLayout.tileField(1_000, K1 + 61), tile("1;1;0;0;0;;;" + I3, T0 + 61_000));
        m.put(RedisLayout.tileField(5_000, K5), tile("3;1;1;1;300;300;0.5;" + I1_I2, T0 + 1_500));
        m.put(RedisLayout.tileField(5_000, K5 + 1), tile("1;0;0;1;120;120;;" + I1, T0 + 6_000));
        m.put(RedisLayout.tileField(5_000, K5 + 12), tile("1;1;0;0;0;;;" + I3, T0 + 61_000));
        m.put(RedisLayout.tileField(60_000, K60), tile("4;1;1;2;420;300;0.5;" + I1_I2, T0 + 6_000));
        m.put(RedisLayout.tileField(60_000, K60 + 1), tile("1;1;0;0;0;;;" + I3, T0 + 61_000));
        m.put(RedisLayout.tileField(1_440_000, K24),
                tile("5;2;1;2;420;300;0.5;" + I1_I2_I3, T0 + 61_000));
        m.put("ls", String.valueOf(T0 + 61_000));
        return m;
    }

    /** The profile's last-k lists after {@link #standard}: newest first. */
    static String standardLastK() {
        return "{\"CLICK\":[[" + (T0 + 61_000) + ",\"e5\",\"i3\"],[" + (T0 + 100)
                + ",\"e1\",\"i1\"]],\"HOVER\":[[" + (T0 + 6_000) + ",\"e4\",\"i1\"],["
                + (T0 + 200) + ",\"e2\",\"i2\"]]}";
    }

    /** The profile value after {@link #standard}. */
    static String standardProfile() {
        return "5;{\"c\":{\"CLICK\":2,\"HOVER\":2,\"SCROLL\":1},\"fs\":" + (T0 + 100) + ",\"ls\":"
                + (T0 + 61_000) + ",\"k\":" + standardLastK() + ",\"s\":[" + (T0 + 100) + ","
                + (T0 + 61_000) + ",5],\"v\":5,\"rev\":\"e1\",\"base\":null}";
    }
}
