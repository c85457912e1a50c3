package io.userpulse.flink.tiles;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * KMV (k minimum values) distinct-count sketch: the sorted distinct 32-bit unsigned hashes of the
 * values seen, at most k of them ({@code userpulse/sketch.py}; estimate and merge happen on the
 * Python lookup side). k is not stored: {@link #add(int, int)} takes it from the spec.
 *
 * <p>Internally each hash is stored XOR {@code 0x80000000}, so signed int order is the unsigned
 * order of the hashes and {@link Arrays#binarySearch(int[], int, int, int)} applies.
 */
public final class Kmv {

    private static final int FLIP = Integer.MIN_VALUE;
    /** Sketches of at least this many hashes keep their base64 between changes. */
    static final int CACHE_MIN_SIZE = 16;
    private static final Base64.Encoder BASE64 = Base64.getEncoder();
    /** Per thread: the arrays {@link #base64()} and {@link #appendBase64} encode through. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    private int[] flipped;
    private int size;
    /**
     * {@link #base64()} as last built, or null: a full sketch changes only when a hash below its
     * largest arrives, while its tile is written at every flush that touches the tile. Small
     * sketches are not cached (cheap to encode; saves heap per user).
     */
    private String base64;

    /** An empty sketch. */
    public Kmv() {
        flipped = new int[4];
    }

    private Kmv(int[] flipped, int size) {
        this.flipped = flipped;
        this.size = size;
    }

    /**
     * Adds hash {@code h}: {@code sketch.add(sketch, h, k)} — nothing when the sketch holds k
     * hashes and {@code h} is not below the largest, or when it holds {@code h}; else inserts it
     * and drops the largest if there are then more than k.
     *
     * @param h a 32-bit hash (unsigned value in an int)
     * @param k the sketch size (>= 1)
     */
    public void add(int h, int k) {
        int f = h ^ FLIP;
        int n = size;
        if (n >= k && f >= flipped[n - 1]) {
            return;
        }
        int i = Arrays.binarySearch(flipped, 0, n, f);
        if (i >= 0) {
            return;
        }
        i = -i - 1;
        if (n == flipped.length) {
            flipped = Arrays.copyOf(flipped, Math.min(Math.max(8, 2 * n), Math.max(n + 1, k + 1)));
        }
        System.arraycopy(flipped, i, flipped, i + 1, n - i);
        flipped[i] = f;
        size = n + 1 > k ? n : n + 1;
        base64 = null;
    }

    /**
     * Base64 (RFC 4648, padded) of {@link #toBigEndianBytes()}: the sketch field of the v1 tile
     * value ({@code sketch.encode}); the empty string for an empty sketch.
     */
    public String base64() {
        String b = base64;
        if (b == null) {
            if (size == 0) {
                return "";
            }
            Scratch scratch = SCRATCH.get();
            int m = scratch.encode(this); // may replace scratch.dst: read it after
            b = new String(scratch.dst, 0, m, StandardCharsets.ISO_8859_1);
            if (size >= CACHE_MIN_SIZE) {
                base64 = b;
            }
        }
        return b;
    }

    /**
     * Appends {@link #base64()} to {@code sb}. A small sketch's (fewer than {@link
     * #CACHE_MIN_SIZE} hashes, not cached) goes from a per-thread scratch straight into the
     * builder, with no array or string of its own: the tile writer appends every touched tile's
     * sketches at each flush.
     *
     * @param sb the builder, not null
     */
    public void appendBase64(StringBuilder sb) {
        if (base64 != null || size >= CACHE_MIN_SIZE) {
            sb.append(base64());
            return;
        }
        Scratch scratch = SCRATCH.get();
        int m = size == 0 ? 0 : scratch.encode(this);
        byte[] dst = scratch.dst;
        for (int i = 0; i < m; i++) {
            sb.append((char) dst[i]);
        }
    }

    private void writeBigEndian(byte[] b) {
        for (int i = 0; i < size; i++) {
            int h = flipped[i] ^ FLIP;
            b[4 * i] = (byte) (h >>> 24);
            b[4 * i + 1] = (byte) (h >>> 16);
            b[4 * i + 2] = (byte) (h >>> 8);
            b[4 * i + 3] = (byte) h;
        }
    }

    /**
     * A thread's encoding arrays: {@code Base64.Encoder.encode(src, dst)} encodes all of {@code
     * src}, so there is one source array per sketch size met (at most k + 1 of them, 4 bytes a
     * hash), and one destination.
     */
    private static final class Scratch {
        private byte[][] src = new byte[CACHE_MIN_SIZE + 1][];
        private byte[] dst = new byte[0];

        /** Encodes {@code s}'s hashes (at least one) into {@link #dst}; returns the length. */
        int encode(Kmv s) {
            int n = s.size;
            if (n >= src.length) {
                src = Arrays.copyOf(src, Math.max(n + 1, 2 * src.length));
            }
            byte[] b = src[n];
            if (b == null) {
                b = new byte[4 * n];
                src[n] = b;
            }
            s.writeBigEndian(b);
            int len = (4 * n + 2) / 3 * 4;
            if (dst.length < len) {
                dst = new byte[Math.max(len, 2 * dst.length)];
            }
            return BASE64.encode(b, dst);
        }
    }

    /** Hashes held. */
    public int size() {
        return size;
    }

    /** The {@code i}-th smallest hash, as an unsigned value 0..2^32-1. */
    public long hash(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException(i);
        }
        return Integer.toUnsignedLong(flipped[i] ^ FLIP);
    }

    /** The {@code i}-th smallest hash as its 32 bits (for serialization). */
    int rawHash(int i) {
        return flipped[i] ^ FLIP;
    }

    /** The hashes as big-endian uint32 bytes (what the v1 tile value base64-encodes). */
    public byte[] toBigEndianBytes() {
        byte[] b = new byte[4 * size];
        writeBigEndian(b);
        return b;
    }

    /**
     * A sketch of already sorted, distinct hashes (as read from state).
     *
     * @param hashes ascending unsigned hashes (as ints)
     * @throws IllegalArgumentException not strictly ascending
     */
    public static Kmv ofSorted(int[] hashes) {
        int[] f = new int[Math.max(hashes.length, 1)];
        for (int i = 0; i < hashes.length; i++) {
            f[i] = hashes[i] ^ FLIP;
            if (i > 0 && f[i] <= f[i - 1]) {
                throw new IllegalArgumentException("sketch hashes not strictly ascending at " + i);
            }
        }
        return new Kmv(f, hashes.length);
    }

    /** A deep copy. */
    public Kmv copy() {
        Kmv c = new Kmv(Arrays.copyOf(flipped, Math.max(size, 1)), size);
        c.base64 = base64;
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Kmv k && Arrays.equals(flipped, 0, size, k.flipped, 0, k.size);
    }

    @Override
    public int hashCode() {
        int h = size;
        for (int i = 0; i < size; i++) {
            h = 31 * h + flipped[i];
        }
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Kmv[");
        for (int i = 0; i < size; i++) {
            sb.append(i == 0 ? "" : ",").append(hash(i));
        }
        return sb.append(']').toString();
    }
}
