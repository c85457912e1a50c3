package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.io.ResolvingDecoder;

/**
 * Reads one {@link Event} from a {@link ResolvingDecoder} positioned at a record of the reader
 * schema ({@code userpulse.Event}, design section 3), without building a generic record.
 *
 * <p>Fields are matched by name once, at construction: {@code event_id}, {@code user_id},
 * {@code event_time}, {@code item_id}, {@code row} and the {@code payload} union of the records
 * {@code Click}, {@code Scroll}, {@code Hover} (the branch gives the {@link EventType}) with
 * {@code position}, {@code scroll_depth}, {@code scroll_px}, {@code dwell_ms}. Every other field
 * ({@code session_id}, {@code device}, {@code surface}, fields added by schema evolution) is read
 * and dropped, so its strings are still checked for UTF-8. Optional fields may be a union with
 * null. Not thread-safe (it holds no state of its own, but the decoder it reads from does).
 */
final class EventReader {

    private static final int OTHER = 0;
    private static final int EVENT_ID = 1;
    private static final int USER_ID = 2;
    private static final int EVENT_TIME = 3;
    private static final int ITEM_ID = 4;
    private static final int ROW = 5;
    private static final int PAYLOAD = 6;
    private static final int POSITION = 7;
    private static final int DWELL_MS = 8;
    private static final int SCROLL_DEPTH = 9;
    private static final int SCROLL_PX = 10;

    /** Slot of each top-level field, by the field's position in the reader schema. */
    private final int[] slots;
    /** Per payload branch (reader index): its event type and the slots of its fields. */
    private final EventType[] branchTypes;
    private final int[][] branchSlots;

    /**
     * @param reader the reader schema ({@code userpulse.Event})
     * @throws IllegalArgumentException if a field the event needs is missing or of another type
     */
    EventReader(Schema reader) {
        if (reader.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException("reader schema must be a record, got " + reader);
        }
        slots = new int[reader.getFields().size()];
        Schema payload = null;
        for (Schema.Field f : reader.getFields()) {
            int slot = topSlot(f.name());
            slots[f.pos()] = slot;
            checkType(f, slot);
            if (slot == PAYLOAD) {
                payload = f.schema();
            }
        }
        for (String required : new String[] {"event_id", "user_id", "event_time", "payload"}) {
            if (reader.getField(required) == null) {
                throw new IllegalArgumentException("reader schema has no field " + required);
            }
        }
        if (payload.getType() != Schema.Type.UNION) {
            throw new IllegalArgumentException("payload must be a union of records");
        }
        List<Schema> branches = payload.getTypes();
        branchTypes = new EventType[branches.size()];
        branchSlots = new int[branches.size()][];
        for (int b = 0; b < branches.size(); b++) {
            Schema r = branches.get(b);
            if (r.getType() != Schema.Type.RECORD) {
                throw new IllegalArgumentException("payload branch " + r + " is not a record");
            }
            branchTypes[b] = EventType.valueOf(r.getName().toUpperCase(Locale.ROOT));
            branchSlots[b] = new int[r.getFields().size()];
            for (Schema.Field f : r.getFields()) {
                int slot = payloadSlot(f.name());
                branchSlots[b][f.pos()] = slot;
                checkType(f, slot);
            }
        }
    }

    private static int topSlot(String name) {
        switch (name) {
            case "event_id": return EVENT_ID;
            case "user_id": return USER_ID;
            case "event_time": return EVENT_TIME;
            case "item_id": return ITEM_ID;
            case "row": return ROW;
            case "payload": return PAYLOAD;
            default: return OTHER;
        }
    }

    private static int payloadSlot(String name) {
        switch (name) {
            case "position": return POSITION;
            case "dwell_ms": return DWELL_MS;
            case "scroll_depth": return SCROLL_DEPTH;
            case "scroll_px": return SCROLL_PX;
            default: return OTHER;
        }
    }

    /** The field's type, a union with null stripped. */
    private static Schema.Type valueType(Schema s) {
        if (s.getType() == Schema.Type.UNION) {
            for (Schema t : s.getTypes()) {
                if (t.getType() != Schema.Type.NULL) {
                    return t.getType();
                }
            }
        }
        return s.getType();
    }

    private static void checkType(Schema.Field f, int slot) {
        Schema.Type t = valueType(f.schema());
        boolean ok;
        switch (slot) {
            case EVENT_ID: case USER_ID: case ITEM_ID:
                ok = t == Schema.Type.STRING;
                break;
            case EVENT_TIME:
                ok = f.schema().getType() == Schema.Type.LONG;
                break;
            case ROW: case POSITION: case DWELL_MS: case SCROLL_PX:
                ok = t == Schema.Type.INT || t == Schema.Type.LONG;
                break;
            case SCROLL_DEPTH:
                ok = t == Schema.Type.DOUBLE || t == Schema.Type.FLOAT;
                break;
            default:
                ok = true;
        }
        if (!ok || (slot == EVENT_ID || slot == USER_ID) && t != f.schema().getType()) {
            throw new IllegalArgumentException("reader field " + f.name() + " has type "
                    + f.schema() + ", which the event cannot hold");
        }
    }

    /** Reads one record into a new event (topic, partition, offset left unset). */
    Event read(ResolvingDecoder in) throws IOException {
        Event e = new Event();
        for (Schema.Field f : in.readFieldOrder()) {
            switch (slots[f.pos()]) {
                case EVENT_ID: e.eventId = in.readString(); break;
                case USER_ID: e.userId = in.readString(); break;
                case EVENT_TIME: e.eventTimeMs = in.readLong(); break;
                case ITEM_ID: e.itemId = readString(in, f.schema()); break;
                case ROW: e.row = readLong(in, f.schema()); break;
                case PAYLOAD: readPayload(in, e); break;
                default: Skipper.skip(in, f.schema());
            }
        }
        in.drain();
        return e;
    }

    private void readPayload(ResolvingDecoder in, Event e) throws IOException {
        int b = in.readIndex();
        e.eventType = branchTypes[b];
        int[] s = branchSlots[b];
        for (Schema.Field f : in.readFieldOrder()) {
            switch (s[f.pos()]) {
                case POSITION: e.position = readLong(in, f.schema()); break;
                case DWELL_MS: e.dwellMs = readLong(in, f.schema()); break;
                case SCROLL_DEPTH: e.scrollDepth = readDouble(in, f.schema()); break;
                case SCROLL_PX: e.scrollPx = readLong(in, f.schema()); break;
                default: Skipper.skip(in, f.schema());
            }
        }
    }

    /** The branch schema of an optional field, or null when the null branch was written. */
    private static Schema branch(ResolvingDecoder in, Schema s) throws IOException {
        if (s.getType() != Schema.Type.UNION) {
            return s;
        }
        Schema t = s.getTypes().get(in.readIndex());
        if (t.getType() == Schema.Type.NULL) {
            in.readNull();
            return null;
        }
        return t;
    }

    private static String readString(ResolvingDecoder in, Schema s) throws IOException {
        return branch(in, s) == null ? null : in.readString();
    }

    private static Long readLong(ResolvingDecoder in, Schema s) throws IOException {
        Schema t = branch(in, s);
        if (t == null) {
            return null;
        }
        return t.getType() == Schema.Type.INT ? (long) in.readInt() : in.readLong();
    }

    private static Double readDouble(ResolvingDecoder in, Schema s) throws IOException {
        Schema t = branch(in, s);
        if (t == null) {
            return null;
        }
        return t.getType() == Schema.Type.FLOAT ? (double) in.readFloat() : in.readDouble();
    }
}
