package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import java.util.Objects;

/**
 * The outcome of decoding one record: an {@link Event}, or an {@link ErrorClass} with a
 * human-readable reason. Bad input is data: the decoder returns this instead of throwing.
 */
public final class DecodeResult {

    private final Event event;
    private final ErrorClass errorClass;
    private final String reason;

    private DecodeResult(Event event, ErrorClass errorClass, String reason) {
        this.event = event;
        this.errorClass = errorClass;
        this.reason = reason;
    }

    /** A decoded, valid event. */
    public static DecodeResult ok(Event event) {
        return new DecodeResult(Objects.requireNonNull(event, "event"), null, null);
    }

    /** A failure of class {@code errorClass} with {@code reason} (both non-null). */
    public static DecodeResult failure(ErrorClass errorClass, String reason) {
        return new DecodeResult(
                null, Objects.requireNonNull(errorClass, "errorClass"),
                Objects.requireNonNull(reason, "reason"));
    }

    /** True when {@link #event()} holds the decoded event. */
    public boolean isOk() {
        return event != null;
    }

    /** The event, or null for a failure. */
    public Event event() {
        return event;
    }

    /** The error class, or null when ok. */
    public ErrorClass errorClass() {
        return errorClass;
    }

    /** The reason of a failure (starts with the failing part, as in Python), or null when ok. */
    public String reason() {
        return reason;
    }

    @Override
    public String toString() {
        return isOk() ? "ok(" + event + ")" : errorClass.code() + ": " + reason;
    }
}
