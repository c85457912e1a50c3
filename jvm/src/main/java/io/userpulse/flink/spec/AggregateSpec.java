package io.userpulse.flink.spec;

import io.userpulse.flink.event.EventFields;
import io.userpulse.flink.event.EventType;
import java.io.Serializable;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

/**
 * One tile aggregate of the catalogue ({@code userpulse/features.py} {@code TILE_AGGREGATES}).
 *
 * @param name feature name prefix, e.g. {@code sum_dwell_hover}
 * @param eventType events that feed it; null: every type
 * @param kind how events fold into it
 * @param field the event attribute it reads; null for a count (a count ignores any field)
 * @param valueType the attribute's type; null when {@code field} is null
 */
public record AggregateSpec(
        String name,
        EventType eventType,
        AggregateKind kind,
        EventFields field,
        EventFields.ValueType valueType)
        implements Serializable {

    private static final String FIX = "fix TILE_AGGREGATES in userpulse/features.py";

    /**
     * Validates the combination.
     *
     * @throws IllegalArgumentException no name, a sum / max / distinct without a field, a field of
     *     the wrong type for the kind, or a value type that is not the field's
     */
    public AggregateSpec {
        if (name == null || name.isEmpty() || kind == null) {
            throw new IllegalArgumentException("aggregate: name and kind are required; " + FIX);
        }
        if ((field == null) != (valueType == null)) {
            throw new IllegalArgumentException("aggregate " + name
                    + ": field and value_type are both set or both null; " + FIX);
        }
        if (field != null && field.valueType() != valueType) {
            throw new IllegalArgumentException("aggregate " + name + ": field " + field.catalogueName()
                    + " is " + field.valueType().specName() + ", not " + valueType.specName()
                    + "; fix _VALUE_TYPES in userpulse/jvmspec.py");
        }
        if (kind != AggregateKind.COUNT && field == null) {
            throw new IllegalArgumentException("aggregate " + name + ": a " + kind.specName()
                    + " needs a field; " + FIX);
        }
        if ((kind == AggregateKind.SUM || kind == AggregateKind.MAX)
                && valueType == EventFields.ValueType.STRING) {
            throw new IllegalArgumentException("aggregate " + name + ": a " + kind.specName()
                    + " needs a long or double field, not " + field.catalogueName() + "; " + FIX);
        }
        if (kind == AggregateKind.DISTINCT && valueType != EventFields.ValueType.STRING) {
            throw new IllegalArgumentException("aggregate " + name
                    + ": distinct needs a string field (the sketch hashes text), not "
                    + field.catalogueName() + "; " + FIX);
        }
    }

    static AggregateSpec parse(JsonNode node, String path) {
        SpecReader r = SpecReader.object(node, path, "name", "event_type", "kind", "field",
                "value_type");
        String name = r.string("name", false);
        String type = SpecReader.stringNode(r.raw("event_type"), r.path("event_type"), true, FIX);
        String kind = SpecReader.stringNode(r.raw("kind"), r.path("kind"), false, FIX);
        String field = SpecReader.stringNode(r.raw("field"), r.path("field"), true, FIX);
        String vt = SpecReader.stringNode(r.raw("value_type"), r.path("value_type"), true, FIX);
        try {
            return new AggregateSpec(
                    name,
                    type == null ? null : eventType(type),
                    AggregateKind.of(kind),
                    field == null ? null : EventFields.of(field),
                    vt == null ? null : valueType(vt));
        } catch (IllegalArgumentException e) {
            throw SpecReader.fail(path, e.getMessage(), FIX);
        }
    }

    /**
     * The event type of a spec name.
     *
     * @throws IllegalArgumentException for a name that is not CLICK, SCROLL or HOVER
     */
    static EventType eventType(String name) {
        for (EventType t : EventType.values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown event type '" + name
                + "': use CLICK, SCROLL or HOVER");
    }

    private static EventFields.ValueType valueType(String name) {
        for (EventFields.ValueType t : EventFields.ValueType.values()) {
            if (t.specName().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown value_type '" + name
                + "': use long, double or string");
    }
}
