package io.userpulse.flink.tiles;

import org.bouncycastle.crypto.digests.Blake2bDigest;

/**
 * The 32-bit value hash of the KMV sketch: BLAKE2b with a 4-byte digest of the value's UTF-8
 * bytes, read big-endian, as {@code userpulse/sketch.value_hash} ({@code hashlib.blake2b(
 * v.encode("utf-8", "surrogatepass"), digest_size=4)}). Lone surrogates are encoded as Python's
 * {@code surrogatepass} does (3 bytes), so the hash is defined for every Java string.
 *
 * <p>An instance reuses its digest and buffers: not thread-safe (one per operator subtask).
 * {@link #blake2b32(String)} uses a thread-local instance.
 */
public final class ValueHash {

    private static final ThreadLocal<ValueHash> LOCAL = ThreadLocal.withInitial(ValueHash::new);

    private final Blake2bDigest digest = new Blake2bDigest(32);
    private final byte[] out = new byte[4];
    private byte[] buf = new byte[64];

    /** BLAKE2b-32 of the UTF-8 bytes of {@code value}, as an int holding the unsigned hash. */
    public static int blake2b32(String value) {
        return LOCAL.get().hash(value);
    }

    /** BLAKE2b-32 of the UTF-8 bytes of {@code value} (big-endian; compare unsigned). */
    public int hash(String value) {
        int n = utf8(value);
        digest.update(buf, 0, n);
        digest.doFinal(out, 0);
        return ((out[0] & 0xFF) << 24) | ((out[1] & 0xFF) << 16) | ((out[2] & 0xFF) << 8)
                | (out[3] & 0xFF);
    }

    /** Encodes into {@link #buf}; returns the byte count. */
    private int utf8(String s) {
        int len = s.length();
        if (buf.length < 3 * len) {
            buf = new byte[Math.max(3 * len, 2 * buf.length)];
        }
        byte[] b = buf;
        int n = 0;
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                b[n++] = (byte) c;
            } else if (c < 0x800) {
                b[n++] = (byte) (0xC0 | (c >> 6));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < len
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b[n++] = (byte) (0xF0 | (cp >> 18));
                b[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                b[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[n++] = (byte) (0x80 | (cp & 0x3F));
            } else { // BMP, or a lone surrogate (surrogatepass)
                b[n++] = (byte) (0xE0 | (c >> 12));
                b[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return n;
    }
}
