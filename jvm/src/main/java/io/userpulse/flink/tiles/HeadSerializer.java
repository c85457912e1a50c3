package io.userpulse.flink.tiles;

import io.userpulse.flink.profile.ProfileSerializer;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink serializer of {@link Head} with its {@link io.userpulse.flink.profile.Profile} (the
 * per-user {@code ValueState<Head>}; no Kryo). Self-describing: reading needs no spec.
 *
 * <p>Format 1: byte 1; int slots; per slot boolean present + (long index, tile as {@link
 * TileSerializer}); long next cleanup ms ({@link TileState#NONE} = none); profile as {@link
 * ProfileSerializer}.
 */
public final class HeadSerializer extends TypeSerializerSingleton<Head> {

    private static final long serialVersionUID = 1L;
    private static final int FORMAT = 1;

    /** The serializer: {@code new ValueStateDescriptor<>("head", HeadSerializer.INSTANCE)}. */
    public static final HeadSerializer INSTANCE = new HeadSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Head createInstance() {
        return new Head(0, new io.userpulse.flink.profile.Profile());
    }

    @Override
    public Head copy(Head from) {
        return from.copy();
    }

    @Override
    public Head copy(Head from, Head reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Head h, DataOutputView out) throws IOException {
        out.writeByte(FORMAT);
        int slots = h.newestTile.length;
        out.writeInt(slots);
        for (int i = 0; i < slots; i++) {
            Tile t = h.newestTile[i];
            out.writeBoolean(t != null);
            if (t != null) {
                out.writeLong(h.newestIndex[i]);
                TileSerializer.INSTANCE.serialize(t, out);
            }
        }
        out.writeLong(h.nextCleanupMs);
        ProfileSerializer.INSTANCE.serialize(h.profile, out);
    }

    @Override
    public Head deserialize(DataInputView in) throws IOException {
        int format = in.readByte();
        if (format != FORMAT) {
            throw new IOException("head state of format " + format + ", this jar reads " + FORMAT);
        }
        int slots = in.readInt();
        if (slots < 0 || slots > 255) {
            throw new IOException("head state with " + slots + " tile sizes: corrupt");
        }
        long[] index = new long[slots];
        Tile[] tiles = new Tile[slots];
        for (int i = 0; i < slots; i++) {
            if (in.readBoolean()) {
                index[i] = in.readLong();
                tiles[i] = TileSerializer.INSTANCE.deserialize(in);
            }
        }
        long next = in.readLong();
        Head h = new Head(slots, ProfileSerializer.INSTANCE.deserialize(in));
        System.arraycopy(index, 0, h.newestIndex, 0, slots);
        System.arraycopy(tiles, 0, h.newestTile, 0, slots);
        h.nextCleanupMs = next;
        return h;
    }

    @Override
    public Head deserialize(Head reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Head> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Snapshot of {@link HeadSerializer} (stateless: the format is in the data). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Head> {
        /** For Flink's reflective instantiation. */
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
