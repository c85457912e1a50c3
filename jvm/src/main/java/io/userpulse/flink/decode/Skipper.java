package io.userpulse.flink.decode;

import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.avro.io.ResolvingDecoder;

/**
 * Reads and drops one value of a reader-schema type from a {@link ResolvingDecoder} (fields the
 * event does not carry). Strings are read, not skipped blindly, so they are checked for UTF-8.
 */
final class Skipper {

    private Skipper() {}

    /** Reads and drops one value of type {@code s}. */
    static void skip(ResolvingDecoder in, Schema s) throws IOException {
        switch (s.getType()) {
            case NULL: in.readNull(); break;
            case BOOLEAN: in.readBoolean(); break;
            case INT: in.readInt(); break;
            case LONG: in.readLong(); break;
            case FLOAT: in.readFloat(); break;
            case DOUBLE: in.readDouble(); break;
            case STRING: in.readString(); break;
            case BYTES: in.readBytes(null); break;
            case FIXED: in.skipFixed(s.getFixedSize()); break;
            case ENUM: in.readEnum(); break;
            case ARRAY:
                for (long n = in.readArrayStart(); n != 0; n = in.arrayNext()) {
                    for (long i = 0; i < n; i++) {
                        skip(in, s.getElementType());
                    }
                }
                break;
            case MAP:
                for (long n = in.readMapStart(); n != 0; n = in.mapNext()) {
                    for (long i = 0; i < n; i++) {
                        in.readString();
                        skip(in, s.getValueType());
                    }
                }
                break;
            case UNION: skip(in, s.getTypes().get(in.readIndex())); break;
            case RECORD:
                for (Schema.Field f : in.readFieldOrder()) {
                    skip(in, f.schema());
                }
                break;
            default: throw new IllegalStateException("unknown Avro type " + s.getType());
        }
    }
}
