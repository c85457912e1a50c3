package io.userpulse.flink.tiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.profile.ProfileFolder;
import io.userpulse.flink.spec.JobSpec;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The incremental upkeep of the pre-merged windows ({@link Premerge.Running}, what the job does
 * per event) equals merging every tile again ({@link Premerge#of}, pinned against Python by
 * TileStateVectorsTest) after every event of random traffic: in order, late, ahead of the job's
 * clock, with the clock moving past the windows' validity.
 */
class PremergeRunningTest {

    private static final EventType[] TYPES = EventType.values();

    @Test
    void foldingEachEventEqualsMergingEveryTile() throws Exception {
        JobSpec spec = Vectors.defaultSpec();
        TileState state = TileState.of(spec);
        ProfileFolder folder = ProfileFolder.of(spec);
        Premerge premerge = new Premerge(spec.features());
        Random rnd = new Random(16);
        long now = 1_764_460_800_000L;
        int folded = 0;
        for (int user = 0; user < 20; user++) {
            TileStore older = new MapTileStore();
            Touched touched = state.newTouched();
            Head head = null;
            Premerge.Running run = null;
            for (int i = 0; i < 300; i++) {
                now += rnd.nextInt(4) == 0 ? rnd.nextInt(120_000) : rnd.nextInt(800);
                long t = now - rnd.nextInt(90_000) + (rnd.nextInt(20) == 0 ? 30_000 : 0);
                Event e = event(rnd, "u" + user, "e" + i, t);
                if (head == null) {
                    head = state.newHead(folder.revive(null, e));
                }
                state.fold(head, older, e, touched);
                folder.fold(head.profile(), e, Long.MIN_VALUE);
                long events = head.profile().version();
                if (run != null && run.events() == events - 1 && premerge.holds(run, now)) {
                    premerge.fold(run, e, touched, now, events);
                    folded++;
                } else {
                    run = premerge.running(state.allTiles(head, older), now, events);
                }
                Premerge.Values want = premerge.of(state.allTiles(head, older), now);
                assertArrayEquals(want.validUntilMs, premerge.validUntilMs(run), "event " + i);
                for (int s = 0; s < premerge.windowCount(); s++) {
                    assertEquals(TileCodec.encode(want.merged[s]), TileCodec.encode(run.merged()[s]),
                            "user " + user + " event " + i + " window " + premerge.windowMs(s));
                }
            }
        }
        assertTrue(folded > 3_000, "incremental folds: " + folded);
    }

    private static Event event(Random rnd, String user, String id, long t) {
        Event e = new Event();
        e.eventType = TYPES[rnd.nextInt(TYPES.length)];
        e.userId = user;
        e.eventId = id;
        e.eventTimeMs = t;
        e.itemId = rnd.nextInt(5) == 0 ? null : "i" + rnd.nextInt(400);
        if (e.eventType == EventType.HOVER) {
            e.dwellMs = (long) rnd.nextInt(20_000);
        } else if (e.eventType == EventType.SCROLL) {
            e.scrollDepth = rnd.nextInt(3) == 0 ? null : rnd.nextDouble();
        }
        e.topic = "events";
        return e;
    }
}
