package io.userpulse.flink.decode;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Text exactly as Python writes it, for payloads and reasons that must read the same whichever
 * side produced them: {@code json.dumps} strings (default {@code ensure_ascii=True}), Python
 * {@code repr} of floats and of bytes. Sources: CPython {@code Lib/json/encoder.py}
 * ({@code ESCAPE_ASCII}), {@code Python/pystrtod.c} ({@code repr} uses the shortest digits that
 * round-trip, in positional notation when the decimal exponent is in [-4, 16), else
 * {@code d.ddde+XX}), {@code Objects/bytesobject.c} ({@code bytes.__repr__}).
 */
final class PyJson {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private PyJson() {}

    /** Appends {@code s} as a JSON string literal, as {@code json.dumps(s)} (null: null). */
    static StringBuilder string(StringBuilder out, String s) {
        if (s == null) {
            return out.append("null");
        }
        out.append('"');
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7E) { // UTF-16 units: astral chars as surrogate pairs
                        out.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 15])
                                .append(HEX[(c >> 4) & 15]).append(HEX[c & 15]);
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"');
    }

    /** Appends a JSON number or null, as {@code json.dumps} ({@code NaN}, {@code Infinity}). */
    static StringBuilder number(StringBuilder out, Double d) {
        if (d == null) {
            return out.append("null");
        }
        if (d.isNaN()) {
            return out.append("NaN");
        }
        if (d.isInfinite()) {
            return out.append(d > 0 ? "Infinity" : "-Infinity");
        }
        return out.append(floatRepr(d));
    }

    /** Appends a JSON integer or null. */
    static StringBuilder number(StringBuilder out, Long v) {
        return v == null ? out.append("null") : out.append(v.longValue());
    }

    /** Python {@code repr(d)}: {@code 0.5}, {@code 1e-05}, {@code 1.0}, {@code nan}, {@code inf}. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortest(Math.abs(d)).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int decpt = digits.length() - shortest.scale(); // value = 0.DIGITS * 10^decpt
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                out.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt >= digits.length()) {
                out.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            } else {
                out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
            }
        } else {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            out.append(exp < 0 ? "e-" : "e+");
            int a = Math.abs(exp);
            out.append(a < 10 ? "0" : "").append(a);
        }
        return out.toString();
    }

    /** The shortest decimal that reads back as {@code x} (> 0), the nearest one on a tie. */
    private static BigDecimal shortest(double x) {
        BigDecimal exact = new BigDecimal(x);
        for (int p = 1; p < 17; p++) {
            BigDecimal near = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (near.doubleValue() == x) {
                return near;
            }
            // at a power of two the nearest p-digit decimal may miss while the other one hits
            for (RoundingMode m : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal other = exact.round(new MathContext(p, m));
                if (other.doubleValue() == x) {
                    return other;
                }
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }

    /** Python {@code repr(b[:n])}: {@code b'u1'}, {@code b'\x00\'"'}. */
    static String bytesRepr(byte[] b, int n) {
        boolean single = false;
        boolean dbl = false;
        for (int i = 0; i < n; i++) {
            single |= b[i] == '\'';
            dbl |= b[i] == '"';
        }
        char quote = single && !dbl ? '"' : '\'';
        StringBuilder out = new StringBuilder(n + 3).append('b').append(quote);
        for (int i = 0; i < n; i++) {
            int c = b[i] & 0xFF;
            if (c == quote || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c < 0x20 || c >= 0x7F) {
                out.append("\\x").append(HEX[c >> 4]).append(HEX[c & 15]);
            } else {
                out.append((char) c);
            }
        }
        return out.append(quote).toString();
    }
}
