package io.userpulse.flink.event;

/**
 * The event attributes a tile aggregate of the catalogue may read, by their catalogue name
 * ({@code userpulse/jvmspec.py} {@code _VALUE_TYPES}), with a direct accessor on {@link Event}.
 *
 * <p>Each constant reads one field: {@link #longValue}, {@link #doubleValue} or
 * {@link #stringValue} according to its {@link #valueType()}; null means the event does not carry
 * it (the aggregate skips the event, as {@code userpulse/tiles.add_event} does). The accessors
 * return the event's own (boxed) field, so reading allocates nothing.
 */
public enum EventFields {
    /** HOVER dwell, ms. */
    DWELL_MS("dwell_ms", ValueType.LONG),
    /** SCROLL depth, fraction 0.0..1.0. */
    SCROLL_DEPTH("scroll_depth", ValueType.DOUBLE),
    /** SCROLL pixels. */
    SCROLL_PX("scroll_px", ValueType.LONG),
    /** CLICK rank on screen. */
    POSITION("position", ValueType.LONG),
    /** Row of the surface. */
    ROW("row", ValueType.LONG),
    /** Item id. */
    ITEM_ID("item_id", ValueType.STRING);

    /** The JVM type of an attribute (the spec's {@code value_type}). */
    public enum ValueType {
        /** 64-bit integer. */
        LONG,
        /** IEEE-754 double. */
        DOUBLE,
        /** Text. */
        STRING;

        /** The spec's name of the type: {@code long}, {@code double} or {@code string}. */
        public String specName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String catalogueName;
    private final ValueType valueType;

    EventFields(String catalogueName, ValueType valueType) {
        this.catalogueName = catalogueName;
        this.valueType = valueType;
    }

    /**
     * The field of a catalogue name.
     *
     * @param name a catalogue field name, e.g. {@code dwell_ms}
     * @return its accessor
     * @throws IllegalArgumentException for an unknown name (the message lists the known ones)
     */
    public static EventFields of(String name) {
        for (EventFields f : values()) {
            if (f.catalogueName.equals(name)) {
                return f;
            }
        }
        StringBuilder known = new StringBuilder();
        for (EventFields f : values()) {
            known.append(known.length() == 0 ? "" : ", ").append(f.catalogueName);
        }
        throw new IllegalArgumentException("unknown event field '" + name + "': use one of " + known
                + " (or add it to Event, EventFields and _VALUE_TYPES in userpulse/jvmspec.py)");
    }

    /** The catalogue name, e.g. {@code dwell_ms}. */
    public String catalogueName() {
        return catalogueName;
    }

    /** The type of the attribute. */
    public ValueType valueType() {
        return valueType;
    }

    /**
     * The attribute of a {@link ValueType#LONG} field.
     *
     * @return the value, or null when absent
     * @throws IllegalStateException when this field is not of type long
     */
    public Long longValue(Event e) {
        switch (this) {
            case DWELL_MS:
                return e.dwellMs;
            case SCROLL_PX:
                return e.scrollPx;
            case POSITION:
                return e.position;
            case ROW:
                return e.row;
            default:
                throw new IllegalStateException(catalogueName + " is not a long field");
        }
    }

    /**
     * The attribute of a {@link ValueType#DOUBLE} field.
     *
     * @return the value, or null when absent
     * @throws IllegalStateException when this field is not of type double
     */
    public Double doubleValue(Event e) {
        if (this != SCROLL_DEPTH) {
            throw new IllegalStateException(catalogueName + " is not a double field");
        }
        return e.scrollDepth;
    }

    /**
     * The attribute of a {@link ValueType#STRING} field.
     *
     * @return the value, or null when absent
     * @throws IllegalStateException when this field is not of type string
     */
    public String stringValue(Event e) {
        if (this != ITEM_ID) {
            throw new IllegalStateException(catalogueName + " is not a string field");
        }
        return e.itemId;
    }

    /** True when the event carries this attribute. */
    public boolean isPresent(Event e) {
        switch (valueType) {
            case LONG:
                return longValue(e) != null;
            case DOUBLE:
                return e.scrollDepth != null;
            default:
                return e.itemId != null;
        }
    }
}
