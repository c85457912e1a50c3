package io.userpulse.flink.profile;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Flink serializer of {@link Profile} (no Kryo). Self-describing: every list carries its length,
 * so reading needs no spec.
 *
 * <p>Format 1: byte 1; long version; int n + n × (string type, long count); long first seen;
 * long last seen ({@link Profile#NONE} = none); int lists + per list (string type, int n, n ×
 * (long time, string event id, string item id)); int sessions + 3 longs each; string rev; string
 * base JSON (strings via {@link StringValue}, null allowed).
 */
public final class ProfileSerializer extends TypeSerializerSingleton<Profile> {

    private static final long serialVersionUID = 1L;
    private static final int FORMAT = 1;

    /** The serializer. */
    public static final ProfileSerializer INSTANCE = new ProfileSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Profile createInstance() {
        return new Profile();
    }

    @Override
    public Profile copy(Profile from) {
        return from.copy();
    }

    @Override
    public Profile copy(Profile from, Profile reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Profile p, DataOutputView out) throws IOException {
        out.writeByte(FORMAT);
        out.writeLong(p.version);
        out.writeInt(p.countSize);
        for (int i = 0; i < p.countSize; i++) {
            StringValue.writeString(p.countNames[i], out);
            out.writeLong(p.countValues[i]);
        }
        out.writeLong(p.firstSeenMs);
        out.writeLong(p.lastSeenMs);
        out.writeInt(p.lastKSize);
        for (int i = 0; i < p.lastKSize; i++) {
            LastK l = p.lastK[i];
            StringValue.writeString(l.type, out);
            out.writeInt(l.size);
            for (int j = 0; j < l.size; j++) {
                out.writeLong(l.times[j]);
                StringValue.writeString(l.eventIds[j], out);
                StringValue.writeString(l.itemIds[j], out);
            }
        }
        out.writeInt(p.sessionCount);
        for (int i = 0; i < 3 * p.sessionCount; i++) {
            out.writeLong(p.sessions[i]);
        }
        StringValue.writeString(p.rev, out);
        StringValue.writeString(p.baseJson, out);
    }

    @Override
    public Profile deserialize(DataInputView in) throws IOException {
        int format = in.readByte();
        if (format != FORMAT) {
            throw new IOException("profile state of format " + format + ", this jar reads "
                    + FORMAT);
        }
        Profile p = new Profile();
        p.version = in.readLong();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            String name = StringValue.readString(in);
            ProfileFolder.addCount(p, name, in.readLong());
        }
        p.firstSeenMs = in.readLong();
        p.lastSeenMs = in.readLong();
        int lists = in.readInt();
        for (int i = 0; i < lists; i++) {
            String type = StringValue.readString(in);
            int size = in.readInt();
            LastK l = ProfileFolder.lastKFor(p, type, size);
            for (int j = 0; j < size; j++) {
                long t = in.readLong();
                String id = StringValue.readString(in);
                l.append(t, id, StringValue.readString(in));
            }
        }
        p.sessionCount = in.readInt();
        p.sessions = new long[3 * Math.max(p.sessionCount, 1)];
        for (int i = 0; i < 3 * p.sessionCount; i++) {
            p.sessions[i] = in.readLong();
        }
        p.rev = StringValue.readString(in);
        p.baseJson = StringValue.readString(in);
        return p;
    }

    @Override
    public Profile deserialize(Profile reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Profile> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Snapshot of {@link ProfileSerializer} (stateless: the format is in the data). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Profile> {
        /** For Flink's reflective instantiation. */
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
