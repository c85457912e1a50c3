package io.userpulse.flink.tiles;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventFields;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.spec.AggregateSpec;
import io.userpulse.flink.spec.FeatureSpec;
import java.io.Serializable;
import java.math.BigInteger;
import java.util.List;

/**
 * Folds events into tiles exactly as {@code userpulse/tiles.add_event}: {@code n} bumps for every
 * event; an aggregate with an event type only sees events of that type; a count counts them; a
 * sum / max / distinct skips events whose field is absent (null); a sum adds (long sums are exact:
 * past 64 bits they continue as {@link BigInteger}, like Python ints); a max keeps the larger
 * ({@code v > cur}); a distinct adds the value's {@link ValueHash} to the tile's {@link Kmv}; the
 * tile's max event time follows the newest event.
 *
 * <p>The per-event path allocates nothing (no boxing, no strings): each field is read once per
 * event and folded into the tiles of every tile size together. Not thread-safe (it reuses a hash
 * buffer); {@link Serializable} configuration otherwise.
 */
public final class TileAggregator implements Serializable {

    private static final long serialVersionUID = 1L;

    private final TileShape shape;
    private final byte[] kinds;
    private final EventType[] types;
    private final EventFields[] fields;
    private final int sketchK;
    private transient ValueHash hasher;

    /** The aggregator of the spec's aggregates. */
    public TileAggregator(FeatureSpec features) {
        List<AggregateSpec> aggs = features.aggregates();
        this.shape = TileShape.of(features);
        int k = aggs.size();
        this.kinds = new byte[k];
        this.types = new EventType[k];
        this.fields = new EventFields[k];
        for (int i = 0; i < k; i++) {
            kinds[i] = shape.kind(i);
            types[i] = aggs.get(i).eventType();
            fields[i] = aggs.get(i).field();
        }
        this.sketchK = features.distinctSketchK();
    }

    /** The shape of the tiles this aggregator folds into. */
    public TileShape shape() {
        return shape;
    }

    /** A new empty tile. */
    public Tile newTile() {
        return new Tile(shape);
    }

    /** Folds {@code e} into one tile. */
    public void add(Event e, Tile tile) {
        add(e, new Tile[] {tile}, 1);
    }

    /**
     * Folds {@code e} into {@code tiles[0..count)} (one per tile size, typically).
     *
     * @param e the event
     * @param tiles tiles of this aggregator's shape
     * @param count how many entries of {@code tiles} to fold into
     */
    public void add(Event e, Tile[] tiles, int count) {
        long et = e.eventTimeMs;
        for (int j = 0; j < count; j++) {
            Tile t = tiles[j];
            t.n++;
            if (!t.hasMaxEventTime || et > t.maxEventTimeMs) {
                t.maxEventTimeMs = et;
                t.hasMaxEventTime = true;
            }
        }
        EventType type = e.eventType;
        for (int i = 0; i < kinds.length; i++) {
            if (types[i] != null && types[i] != type) {
                continue;
            }
            long bit = 1L << i;
            switch (kinds[i]) {
                case TileShape.COUNT -> {
                    for (int j = 0; j < count; j++) {
                        tiles[j].values[i]++;
                    }
                }
                case TileShape.SUM_LONG -> {
                    Long v = fields[i].longValue(e);
                    if (v != null) {
                        long x = v;
                        for (int j = 0; j < count; j++) {
                            addLong(tiles[j], i, x);
                        }
                    }
                }
                case TileShape.SUM_DOUBLE -> {
                    Double v = fields[i].doubleValue(e);
                    if (v != null) {
                        double x = v;
                        for (int j = 0; j < count; j++) {
                            Tile t = tiles[j];
                            double cur = (t.present & bit) != 0 ? Double.longBitsToDouble(t.values[i])
                                    : 0.0;
                            t.values[i] = Double.doubleToRawLongBits(cur + x);
                            t.present |= bit;
                        }
                    }
                }
                case TileShape.MAX_LONG -> {
                    Long v = fields[i].longValue(e);
                    if (v != null) {
                        long x = v;
                        for (int j = 0; j < count; j++) {
                            Tile t = tiles[j];
                            if ((t.present & bit) == 0 || x > t.values[i]) {
                                t.values[i] = x;
                                t.present |= bit;
                            }
                        }
                    }
                }
                case TileShape.MAX_DOUBLE -> {
                    Double v = fields[i].doubleValue(e);
                    if (v != null) {
                        double x = v;
                        for (int j = 0; j < count; j++) {
                            Tile t = tiles[j];
                            if ((t.present & bit) == 0 || x > Double.longBitsToDouble(t.values[i])) {
                                t.values[i] = Double.doubleToRawLongBits(x);
                                t.present |= bit;
                            }
                        }
                    }
                }
                default -> {
                    String v = fields[i].stringValue(e);
                    if (v != null) {
                        int h = hasher().hash(v);
                        for (int j = 0; j < count; j++) {
                            tiles[j].sketches[i].add(h, sketchK);
                        }
                    }
                }
            }
        }
    }

    private ValueHash hasher() {
        ValueHash h = hasher;
        if (h == null) {
            h = hasher = new ValueHash();
        }
        return h;
    }

    /** {@code tile[i] += x}, exact past 64 bits. */
    private static void addLong(Tile t, int i, long x) {
        if (t.big != null && t.big[i] != null) {
            t.big[i] = t.big[i].add(BigInteger.valueOf(x));
            return;
        }
        long a = t.values[i];
        long r = a + x;
        if (((a ^ r) & (x ^ r)) < 0) { // overflow: continue exactly
            if (t.big == null) {
                t.big = new BigInteger[t.values.length];
            }
            t.big[i] = BigInteger.valueOf(a).add(BigInteger.valueOf(x));
            return;
        }
        t.values[i] = r;
    }
}
