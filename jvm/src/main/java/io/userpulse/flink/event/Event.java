package io.userpulse.flink.event;

/**
 * One decoded, validated interaction event (design section 3) plus where it came from.
 *
 * <p>A Flink POJO (public fields, public no-argument constructor), so Flink serializes it with its
 * {@code PojoSerializer} between the decode and the keyed operator, never with Kryo. Times are UTC
 * epoch milliseconds. Optional fields are null when absent. Field names follow the Python event
 * model ({@code userpulse/events.py}); {@link EventFields} maps the catalogue's field names
 * ({@code dwell_ms}, ...) to them.
 */
public class Event {

    /** Unique id of the event (dedup, tracing, last-k tie break). */
    public String eventId;

    /** CLICK, SCROLL or HOVER. */
    public EventType eventType;

    /** 1..128 bytes of UTF-8, byte-exact; also the Kafka record key and the keyBy key. */
    public String userId;

    /** Event time from the payload, UTC epoch ms. */
    public long eventTimeMs;

    /** Optional item id. */
    public String itemId;

    /** CLICK: optional rank on screen. */
    public Long position;

    /** HOVER: dwell in ms, >= 0. */
    public Long dwellMs;

    /** SCROLL: optional depth, fraction 0.0..1.0. */
    public Double scrollDepth;

    /** Optional row of the surface the item was shown in. */
    public Long row;

    /** SCROLL: optional pixels scrolled, >= 0. */
    public Long scrollPx;

    /** Source topic of the Kafka record. */
    public String topic;

    /** Source partition of the Kafka record. */
    public int partition;

    /** Source offset of the Kafka record. */
    public long offset;

    /** For Flink's POJO serializer. */
    public Event() {}

    @Override
    public String toString() {
        return "Event{" + eventType + " " + eventId + " user=" + userId + " t=" + eventTimeMs
                + " item=" + itemId + " " + topic + "/" + partition + "@" + offset + "}";
    }
}
