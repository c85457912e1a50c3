package io.userpulse.flink.event;

/** The three interaction kinds on the wire (the payload branch of the Avro record). */
public enum EventType {
    CLICK,
    SCROLL,
    HOVER
}
