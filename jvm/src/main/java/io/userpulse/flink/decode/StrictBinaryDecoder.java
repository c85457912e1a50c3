package io.userpulse.flink.decode;

import java.nio.ByteBuffer;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * Avro binary decoding over one byte array, strict where Avro's own {@code BinaryDecoder} is lax
 * (Avro 1.12 specification, "Binary Encoding"):
 *
 * <ul>
 *   <li>strings (read or skipped) must be strict UTF-8: malformed bytes, encoded surrogates and
 *       overlong forms are {@link ErrorClass#BAD_UTF8} ({@code BinaryDecoder.readString} replaces
 *       them with U+FFFD);
 *   <li>a long takes at most 10 bytes and 64 bits, an int at most 5 bytes and 32 bits (overlong
 *       varints are {@link ErrorClass#BAD_AVRO}; Avro drops the extra bits). Non-minimal
 *       encodings within those bounds are accepted, as the specification allows;
 *   <li>lengths and block counts must be non-negative and fit in the bytes left; union indexes
 *       non-negative; booleans 0 or 1; reading past the end is a truncated body.
 * </ul>
 *
 * <p>Every fault is an {@link AvroFault} (a checked {@link java.io.IOException} without stack
 * trace) whose reason starts with {@code "avro body unreadable: "} and names the byte offset in
 * the record value. Not thread-safe; reused for every record via {@link #reset}.
 */
final class StrictBinaryDecoder extends Decoder {

    static final String PREFIX = "avro body unreadable: ";

    private final StrictUtf8 utf8 = new StrictUtf8();
    private byte[] buf = new byte[0];
    private int pos;
    private int limit;
    /** The last union index read (for reasons). */
    int lastIndex;

    /** Read {@code buf[offset, limit)} next. */
    void reset(byte[] buf, int offset, int limit) {
        this.buf = buf;
        this.pos = offset;
        this.limit = limit;
        this.lastIndex = -1;
    }

    /** Offset of the next unread byte in the array. */
    int position() {
        return pos;
    }

    private AvroFault fault(String what) {
        return new AvroFault(ErrorClass.BAD_AVRO, PREFIX + what);
    }

    private void need(long n) throws AvroFault {
        if (n > limit - pos) {
            throw fault("truncated at byte " + pos + " (" + n + " bytes needed, "
                    + (limit - pos) + " left)");
        }
    }

    @Override
    public void readNull() {}

    @Override
    public boolean readBoolean() throws AvroFault {
        need(1);
        int b = buf[pos++];
        if (b == 0 || b == 1) {
            return b == 1;
        }
        throw fault("boolean byte " + (b & 0xFF) + " at byte " + (pos - 1));
    }

    @Override
    public int readInt() throws AvroFault {
        int start = pos;
        int raw = 0;
        for (int i = 0; i < 5; i++) {
            if (pos >= limit) {
                throw fault("truncated in a varint at byte " + start);
            }
            int b = buf[pos++] & 0xFF;
            if (i == 4 && b > 0x0F) {
                throw fault("overlong int varint at byte " + start + " (more than 32 bits)");
            }
            raw |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw fault("overlong int varint at byte " + start); // unreachable: 5th byte checked
    }

    @Override
    public long readLong() throws AvroFault {
        int start = pos;
        long raw = 0;
        for (int i = 0; i < 10; i++) {
            if (pos >= limit) {
                throw fault("truncated in a varint at byte " + start);
            }
            int b = buf[pos++] & 0xFF;
            if (i == 9 && b > 1) {
                throw fault("overlong long varint at byte " + start + " (more than 64 bits)");
            }
            raw |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw fault("overlong long varint at byte " + start); // unreachable: 10th byte checked
    }

    @Override
    public float readFloat() throws AvroFault {
        need(4);
        int bits = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16
                | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    @Override
    public double readDouble() throws AvroFault {
        need(8);
        long bits = 0;
        for (int i = 7; i >= 0; i--) {
            bits = bits << 8 | (buf[pos + i] & 0xFF);
        }
        pos += 8;
        return Double.longBitsToDouble(bits);
    }

    /** A length (string, bytes) or block byte count: non-negative and within the bytes left. */
    private int readLength(String what) throws AvroFault {
        int at = pos;
        long n = readLong();
        if (n < 0) {
            throw fault("negative " + what + " length " + n + " at byte " + at);
        }
        if (n > limit - pos) {
            throw fault("truncated: " + what + " length " + n + " at byte " + at + " exceeds the "
                    + (limit - pos) + " bytes left");
        }
        return (int) n;
    }

    /** Strict UTF-8 of {@code buf[from, from + n)}, or an {@link ErrorClass#BAD_UTF8} fault. */
    private String decodeUtf8(int from, int n) throws AvroFault {
        String s = utf8.decode(buf, from, n);
        if (s == null) {
            int at = utf8.errorOffset();
            throw new AvroFault(ErrorClass.BAD_UTF8, PREFIX + "invalid UTF-8 in a string at byte "
                    + at + " (0x" + String.format("%02x", buf[at] & 0xFF) + ")");
        }
        return s;
    }

    @Override
    public String readString() throws AvroFault {
        int n = readLength("string");
        String s = decodeUtf8(pos, n);
        pos += n;
        return s;
    }

    @Override
    public Utf8 readString(Utf8 old) throws AvroFault {
        int n = readLength("string");
        decodeUtf8(pos, n); // validation only
        Utf8 out = old == null ? new Utf8() : old;
        out.setByteLength(n);
        System.arraycopy(buf, pos, out.getBytes(), 0, n);
        pos += n;
        return out;
    }

    @Override
    public void skipString() throws AvroFault {
        int n = readLength("string");
        decodeUtf8(pos, n); // a skipped string must be UTF-8 too
        pos += n;
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws AvroFault {
        int n = readLength("bytes");
        ByteBuffer out = old != null && old.capacity() >= n ? old : ByteBuffer.allocate(n);
        out.clear();
        out.put(buf, pos, n).flip();
        pos += n;
        return out;
    }

    @Override
    public void skipBytes() throws AvroFault {
        int n = readLength("bytes");
        pos += n; // not "pos += readLength(..)": that adds to the old pos
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws AvroFault {
        need(length);
        System.arraycopy(buf, pos, bytes, start, length);
        pos += length;
    }

    @Override
    public void skipFixed(int length) throws AvroFault {
        need(length);
        pos += length;
    }

    @Override
    public int readEnum() throws AvroFault {
        int at = pos;
        int i = readInt();
        if (i < 0) {
            throw fault("negative enum index " + i + " at byte " + at);
        }
        return i;
    }

    /**
     * The item count of the next block of an array or map (0 = end). A negative count is followed
     * by the block's byte size (read and checked here). The count may not exceed the bytes left:
     * zero-byte items beyond that would let a few bytes spin the reader.
     */
    private long readBlockCount() throws AvroFault {
        int at = pos;
        long n = readLong();
        if (n < 0) {
            if (n == Long.MIN_VALUE) {
                throw fault("block count out of range at byte " + at);
            }
            n = -n;
            readLength("block");
        }
        if (n > limit - pos) {
            throw fault("block count " + n + " at byte " + at + " exceeds the bytes left");
        }
        return n;
    }

    /** Skips whole blocks that carry a byte size; returns the items left to skip one by one. */
    private long skipBlocks() throws AvroFault {
        while (true) {
            int at = pos;
            long n = readLong();
            if (n >= 0) {
                if (n > limit - pos) {
                    throw fault("block count " + n + " at byte " + at + " exceeds the bytes left");
                }
                return n;
            }
            int size = readLength("block");
            pos += size;
        }
    }

    @Override
    public long readArrayStart() throws AvroFault {
        return readBlockCount();
    }

    @Override
    public long arrayNext() throws AvroFault {
        return readBlockCount();
    }

    @Override
    public long skipArray() throws AvroFault {
        return skipBlocks();
    }

    @Override
    public long readMapStart() throws AvroFault {
        return readBlockCount();
    }

    @Override
    public long mapNext() throws AvroFault {
        return readBlockCount();
    }

    @Override
    public long skipMap() throws AvroFault {
        return skipBlocks();
    }

    @Override
    public int readIndex() throws AvroFault {
        int at = pos;
        int i = readInt();
        if (i < 0) {
            throw fault("negative union index " + i + " at byte " + at);
        }
        lastIndex = i;
        return i;
    }
}
