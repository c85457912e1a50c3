package io.userpulse.flink.profile;

import java.math.BigDecimal;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;

/**
 * Text exactly as Python prints it, for values the Python side reads back or compares byte for
 * byte: {@code repr(float)} (tile values, {@code userpulse.layout.encode_tile}) and {@code json.dumps}
 * string escaping with its default {@code ensure_ascii=True} (profile records).
 *
 * <p>{@code repr(float)} is the shortest decimal that reads back as the same double, the closest
 * to it among the shortest (David Gay's dtoa mode 0; CPython {@code float_repr}, format
 * {@code 'r'}), in fixed notation when the decimal exponent is in -4..15 ({@code 0.0001},
 * {@code 1e-05}, {@code 1e+16}, {@code 1234.5}, {@code 1.0}), and {@code inf}, {@code -inf},
 * {@code nan}. The digits come from the Schubfach algorithm (R. Giulietti, "The Schubfach way to
 * render doubles", 2020) as shipped in Flink's shaded Jackson ({@code DoubleToDecimal}), which
 * yields the same shortest-closest digits except that Java's format never renders a single
 * digit where a closer 2-digit decimal exists ({@code 4.9E-324} for {@code 5e-324}); that case
 * is narrowed to 1 digit here. Java 17's own {@code Double.toString} is not always shortest
 * (JDK-4511638), so it is not used. About 0.2-0.5 us per value.
 */
public final class PyRepr {

    private PyRepr() {}

    /** Python's {@code repr(x)} of a float. */
    public static String floatRepr(double x) {
        StringBuilder sb = new StringBuilder(24);
        appendFloat(sb, x);
        return sb.toString();
    }

    /** Appends Python's {@code repr(x)} of a float to {@code sb}. */
    public static void appendFloat(StringBuilder sb, double x) {
        if (Double.isNaN(x)) {
            sb.append("nan");
            return;
        }
        if (Double.isInfinite(x)) {
            sb.append(x > 0 ? "inf" : "-inf");
            return;
        }
        if (x < 0 || (x == 0 && Double.doubleToRawLongBits(x) != 0)) {
            sb.append('-');
            x = -x;
        }
        if (x == 0) {
            sb.append("0.0");
            return;
        }
        char[] digits = new char[24];
        int[] decpt = new int[1];
        int n = digits(DoubleToDecimal.toString(x), digits, decpt);
        if (n == 2) {
            n = narrowToOneDigit(x, digits, decpt);
        }
        format(sb, digits, n, decpt[0]);
    }

    /**
     * Significant digits of a Java-format decimal ({@code 123.45}, {@code 1.0E-5}) of a positive
     * value, without leading or trailing zeros; value = 0.digits * 10^decpt.
     */
    static int digits(String s, char[] out, int[] decpt) {
        int e = s.indexOf('E');
        int exp = e < 0 ? 0 : Integer.parseInt(s.substring(e + 1));
        int end = e < 0 ? s.length() : e;
        int n = 0;
        boolean afterPoint = false;
        boolean leading = true;
        int dp = 0;
        for (int i = 0; i < end; i++) {
            char c = s.charAt(i);
            if (c == '.') {
                afterPoint = true;
            } else if (leading && c == '0') {
                if (afterPoint) {
                    dp--; // a zero between the point and the first digit
                }
            } else {
                leading = false;
                if (!afterPoint) {
                    dp++;
                }
                out[n++] = c;
            }
        }
        while (n > 1 && out[n - 1] == '0') {
            n--;
        }
        decpt[0] = dp + exp;
        return n;
    }

    /** 1 digit when one reads back as x (the closer of two, if both do), else the 2 given. */
    private static int narrowToOneDigit(double x, char[] d, int[] decpt) {
        int lo = d[0] - '0';
        double down = parse(lo, decpt[0]);
        double up = lo == 9 ? parse(1, decpt[0] + 1) : parse(lo + 1, decpt[0]);
        boolean downOk = down == x;
        boolean upOk = up == x;
        if (downOk && upOk) { // only tiny subnormals: compare exactly
            BigDecimal ex = new BigDecimal(x);
            BigDecimal dd = BigDecimal.valueOf(lo).scaleByPowerOfTen(decpt[0] - 1);
            BigDecimal du = lo == 9 ? BigDecimal.ONE.scaleByPowerOfTen(decpt[0])
                    : BigDecimal.valueOf(lo + 1).scaleByPowerOfTen(decpt[0] - 1);
            int c = ex.subtract(dd).compareTo(du.subtract(ex));
            upOk = c > 0 || (c == 0 && lo % 2 == 1);
            downOk = !upOk;
        }
        if (downOk) {
            return 1;
        }
        if (upOk) {
            if (lo == 9) {
                d[0] = '1';
                decpt[0]++;
            } else {
                d[0] = (char) ('0' + lo + 1);
            }
            return 1;
        }
        return 2;
    }

    /** The double nearest digit * 10^(decpt - 1). */
    private static double parse(int digit, int decpt) {
        return Double.parseDouble(digit + "E" + (decpt - 1));
    }

    private static void format(StringBuilder sb, char[] d, int n, int decpt) {
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.");
                for (int i = decpt; i < 0; i++) {
                    sb.append('0');
                }
                sb.append(d, 0, n);
            } else if (decpt >= n) {
                sb.append(d, 0, n);
                for (int i = n; i < decpt; i++) {
                    sb.append('0');
                }
                sb.append(".0");
            } else {
                sb.append(d, 0, decpt).append('.').append(d, decpt, n - decpt);
            }
            return;
        }
        int exp = decpt - 1;
        sb.append(d[0]);
        if (n > 1) {
            sb.append('.').append(d, 1, n - 1);
        }
        sb.append('e').append(exp < 0 ? '-' : '+');
        int a = Math.abs(exp);
        if (a < 10) {
            sb.append('0');
        }
        sb.append(a);
    }

    /**
     * Appends {@code s} as a JSON string literal the way Python's {@code json.dumps} writes it
     * ({@code ensure_ascii=True}): {@code \"}, {@code \\}, {@code \n}, {@code \r}, {@code \t},
     * {@code \b}, {@code \f}, and every other char outside 0x20..0x7e as {@code \}{@code uxxxx}
     * (lower-case hex, UTF-16 code units, so astral characters become surrogate pairs).
     */
    public static void appendJsonString(StringBuilder sb, String s) {
        sb.append('"');
        int n = s.length();
        int clean = 0; // s[clean..i) needs no escaping: appended in one call (the common case)
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
                continue;
            }
            sb.append(s, clean, i);
            clean = i + 1;
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    sb.append("\\u");
                    for (int shift = 12; shift >= 0; shift -= 4) {
                        sb.append(Character.forDigit((c >> shift) & 0xF, 16));
                    }
                }
            }
        }
        sb.append(s, clean, n);
        sb.append('"');
    }
}
