package io.userpulse.flink.operator;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.spec.JobSpec;
import io.userpulse.flink.tiles.Vectors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.OutputTag;

/**
 * Test helper: {@link FeatureFunction} in a {@link KeyedOneInputStreamOperatorTestHarness} (heap
 * state backend, test processing-time service), keyed by {@link FeatureGraph#userKey()}, with a
 * job spec whose Redis is the test's server; and event builders.
 *
 * <p>Processing time starts at {@link #START_PROCESSING_MS}; {@link #fireFlushTimer()} moves it by
 * one flush interval, which fires the pending flush timer.
 */
final class FeatureHarness implements AutoCloseable {

    /** Processing time (ms) the harness starts at. */
    static final long START_PROCESSING_MS = 1_000;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    final JobSpec spec;
    final KeyedOneInputStreamOperatorTestHarness<String, Event, Void> h;

    private FeatureHarness(JobSpec spec, OperatorSubtaskState restoreOrNull) throws Exception {
        this(spec, restoreOrNull, new KeyedProcessOperator<>(new FeatureFunction(spec)));
    }

    private FeatureHarness(JobSpec spec, OperatorSubtaskState restoreOrNull,
            OneInputStreamOperator<Event, Void> op) throws Exception {
        this.spec = spec;
        this.h = new KeyedOneInputStreamOperatorTestHarness<>(op, FeatureGraph.userKey(),
                Types.STRING);
        if (restoreOrNull != null) {
            h.initializeState(restoreOrNull);
        }
        h.open();
        h.setProcessingTime(START_PROCESSING_MS);
    }

    /** An opened harness with empty state. */
    static FeatureHarness open(JobSpec spec) throws Exception {
        return new FeatureHarness(spec, null);
    }

    /**
     * An opened harness of the job's operator ({@link FeatureOperator}: store-error side output,
     * store watch and rewrite pass), with empty state or restored from {@code snapshotOrNull}.
     */
    static FeatureHarness operator(JobSpec spec, OperatorSubtaskState snapshotOrNull)
            throws Exception {
        return new FeatureHarness(spec, snapshotOrNull, new FeatureOperator(spec));
    }

    /** The store-error side output's records (dead-letter JSON). */
    List<String> storeErrors() {
        return sideOutput(FeatureGraph.storeErrorTag());
    }

    /** An opened harness restored from {@code snapshot} (a checkpoint of another harness). */
    static FeatureHarness restore(JobSpec spec, OperatorSubtaskState snapshot) throws Exception {
        return new FeatureHarness(spec, snapshot);
    }

    /**
     * The default job spec (spec/default.json, written by userpulse/jvmspec.py) pointed at the
     * Redis server on {@code redisPort}, changed further by {@code change}.
     */
    static JobSpec spec(int redisPort, Consumer<ObjectNode> change) {
        try {
            ObjectNode d = (ObjectNode) MAPPER.readTree(Vectors.text("spec/default.json"));
            ((ObjectNode) d.get("redis")).put("host", "127.0.0.1").put("port", redisPort)
                    .put("timeout_ms", 2_000);
            // no pre-merged windows unless a test asks (PremergeHarnessTest): the other tests pin
            // exact hashes and timer counts
            ((ObjectNode) d.get("job")).put("premerge_refresh_ms", 0);
            change.accept(d);
            return JobSpec.parse(MAPPER.writeValueAsString(d));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@link #spec(int, Consumer)} unchanged. */
    static JobSpec spec(int redisPort) {
        return spec(redisPort, d -> {});
    }

    /** Feeds events in order (the record timestamp is the event time, as the source sets it). */
    void send(Event... events) throws Exception {
        for (Event e : events) {
            h.processElement(e, e.eventTimeMs);
        }
    }

    /** Advances the watermark (fires the event-time timers at or before it). */
    void watermark(long watermarkMs) throws Exception {
        h.processWatermark(watermarkMs);
    }

    /** Moves processing time by one flush interval: the pending flush timer fires. */
    void fireFlushTimer() throws Exception {
        h.setProcessingTime(h.getProcessingTime() + spec.job().flushIntervalMs());
    }

    /** The late side output's records. */
    List<String> late() {
        return sideOutput(FeatureGraph.lateTag());
    }

    private List<String> sideOutput(OutputTag<String> tag) {
        List<String> out = new ArrayList<>();
        var q = h.getSideOutput(tag);
        if (q != null) {
            for (StreamRecord<String> r : q) {
                out.add(r.getValue());
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        h.close();
    }

    // ---- events ----

    static Event click(String user, String id, long t, String item) {
        return event(EventType.CLICK, user, id, t, item);
    }

    static Event hover(String user, String id, long t, String item, long dwellMs) {
        Event e = event(EventType.HOVER, user, id, t, item);
        e.dwellMs = dwellMs;
        return e;
    }

    static Event scroll(String user, String id, long t, double depth) {
        Event e = event(EventType.SCROLL, user, id, t, null);
        e.scrollDepth = depth;
        return e;
    }

    private static Event event(EventType type, String user, String id, long t, String item) {
        Event e = new Event();
        e.eventType = type;
        e.userId = user;
        e.eventId = id;
        e.eventTimeMs = t;
        e.itemId = item;
        e.topic = "events";
        e.partition = 2;
        e.offset = 7;
        return e;
    }
}
