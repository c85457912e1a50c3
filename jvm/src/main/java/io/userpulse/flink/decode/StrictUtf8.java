package io.userpulse.flink.decode;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 decoding (RFC 3629: no overlong forms, no encoded surrogates, nothing above
 * U+10FFFF), as Python's {@code bytes.decode("utf-8")}; {@code new String(bytes, UTF_8)} would
 * replace bad bytes with U+FFFD instead. ASCII takes a fast path. Not thread-safe.
 */
final class StrictUtf8 {

    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private int errorOffset;

    /** The string of {@code buf[from, from + n)}, or null when it is not UTF-8. */
    String decode(byte[] buf, int from, int n) {
        int end = from + n;
        int i = from;
        while (i < end && buf[i] >= 0) {
            i++;
        }
        if (i == end) { // all ASCII: Latin-1 decoding is a plain copy
            return new String(buf, from, n, StandardCharsets.ISO_8859_1);
        }
        decoder.reset();
        ByteBuffer in = ByteBuffer.wrap(buf, from, n);
        CharBuffer out = CharBuffer.allocate(n);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            errorOffset = in.position();
            return null;
        }
        return out.flip().toString();
    }

    /** After {@link #decode} returned null: the array offset of the first bad byte. */
    int errorOffset() {
        return errorOffset;
    }
}
