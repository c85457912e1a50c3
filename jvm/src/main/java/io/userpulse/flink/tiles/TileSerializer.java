package io.userpulse.flink.tiles;

import java.io.IOException;
import java.math.BigInteger;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink serializer of {@link Tile} (the value of the older-tiles {@code MapState<Long, Tile>}; no
 * Kryo). Self-describing: the tile's shape is written with it, so reading needs no spec.
 *
 * <p>Format 1: byte 1; int k + k kind bytes ({@link TileShape}); long n; boolean has max event
 * time + long max event time; long presence bits; per value: a sketch as int size + size ints
 * (ascending unsigned hashes), else a long; int count of 64-bit-overflowed sums + per one (int
 * value index, int length, two's-complement big-endian bytes).
 */
public final class TileSerializer extends TypeSerializerSingleton<Tile> {

    private static final long serialVersionUID = 1L;
    private static final int FORMAT = 1;

    /** The serializer: pass it to {@code MapStateDescriptor} as the value serializer. */
    public static final TileSerializer INSTANCE = new TileSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Tile createInstance() {
        return TileShape.of(new byte[0]).newTile();
    }

    @Override
    public Tile copy(Tile from) {
        return from.copy();
    }

    @Override
    public Tile copy(Tile from, Tile reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Tile t, DataOutputView out) throws IOException {
        TileShape shape = t.shape;
        int k = shape.size();
        out.writeByte(FORMAT);
        out.writeInt(k);
        for (int i = 0; i < k; i++) {
            out.writeByte(shape.kind(i));
        }
        out.writeLong(t.n);
        out.writeBoolean(t.hasMaxEventTime);
        out.writeLong(t.maxEventTimeMs);
        out.writeLong(t.present);
        for (int i = 0; i < k; i++) {
            if (shape.kind(i) == TileShape.DISTINCT) {
                Kmv s = t.sketches[i];
                out.writeInt(s.size());
                for (int j = 0; j < s.size(); j++) {
                    out.writeInt(s.rawHash(j));
                }
            } else {
                out.writeLong(t.values[i]);
            }
        }
        int bigs = 0;
        if (t.big != null) {
            for (BigInteger b : t.big) {
                bigs += b == null ? 0 : 1;
            }
        }
        out.writeInt(bigs);
        for (int i = 0; bigs > 0 && i < k; i++) {
            if (t.big[i] != null) {
                byte[] b = t.big[i].toByteArray();
                out.writeInt(i);
                out.writeInt(b.length);
                out.write(b);
            }
        }
    }

    @Override
    public Tile deserialize(DataInputView in) throws IOException {
        int format = in.readByte();
        if (format != FORMAT) {
            throw new IOException("tile state of format " + format + ", this jar reads " + FORMAT);
        }
        int k = in.readInt();
        if (k < 0 || k > 64) {
            throw new IOException("tile state with " + k + " values: corrupt");
        }
        byte[] kinds = new byte[k];
        in.readFully(kinds);
        Tile t = TileShape.of(kinds).newTile();
        t.n = in.readLong();
        t.hasMaxEventTime = in.readBoolean();
        t.maxEventTimeMs = in.readLong();
        t.present = in.readLong();
        for (int i = 0; i < k; i++) {
            if (kinds[i] == TileShape.DISTINCT) {
                int[] h = new int[in.readInt()];
                for (int j = 0; j < h.length; j++) {
                    h[j] = in.readInt();
                }
                t.sketches[i] = Kmv.ofSorted(h);
            } else {
                t.values[i] = in.readLong();
            }
        }
        int bigs = in.readInt();
        if (bigs > 0) {
            t.big = new BigInteger[k];
            for (int j = 0; j < bigs; j++) {
                int i = in.readInt();
                byte[] b = new byte[in.readInt()];
                in.readFully(b);
                t.big[i] = new BigInteger(b);
            }
        }
        return t;
    }

    @Override
    public Tile deserialize(Tile reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Tile> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Snapshot of {@link TileSerializer} (stateless: the format is in the data). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Tile> {
        /** For Flink's reflective instantiation. */
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
