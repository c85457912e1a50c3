package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;

/**
 * The late-output payload of an event beyond the allowed lateness (design section 4): the event,
 * where it came from, and the watermark that judged it. Same JSON as
 * {@code jobs/records.py::late_json}, byte for byte ({@code json.dumps(..., sort_keys=True)}).
 * Keys: {@code allowed_lateness_ms, dwell_ms, event_id, event_time_ms, event_type, item_id,
 * offset, partition, scroll_depth, topic, user_id, watermark_ms}.
 */
public final class LateRecord {

    private LateRecord() {}

    /**
     * @param e the late event (topic, partition and offset as decoded)
     * @param watermarkMs the watermark when the event arrived, UTC epoch ms
     * @param allowedLatenessMs the allowed lateness, ms (late: event time < watermark - this)
     * @return the JSON text (ASCII only)
     */
    public static String json(Event e, long watermarkMs, long allowedLatenessMs) {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"allowed_lateness_ms\": ").append(allowedLatenessMs);
        PyJson.number(out.append(", \"dwell_ms\": "), e.dwellMs);
        PyJson.string(out.append(", \"event_id\": "), e.eventId);
        out.append(", \"event_time_ms\": ").append(e.eventTimeMs);
        PyJson.string(out.append(", \"event_type\": "),
                e.eventType == null ? null : e.eventType.name());
        PyJson.string(out.append(", \"item_id\": "), e.itemId);
        out.append(", \"offset\": ").append(e.offset);
        out.append(", \"partition\": ").append(e.partition);
        PyJson.number(out.append(", \"scroll_depth\": "), e.scrollDepth);
        PyJson.string(out.append(", \"topic\": "), e.topic);
        PyJson.string(out.append(", \"user_id\": "), e.userId);
        out.append(", \"watermark_ms\": ").append(watermarkMs);
        return out.append('}').toString();
    }
}
