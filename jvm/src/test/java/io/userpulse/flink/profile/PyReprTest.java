package io.userpulse.flink.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.tiles.Vectors;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.SplittableRandom;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** Python's repr(float) and json.dumps string escaping, against values printed by Python. */
class PyReprTest {

    @Test
    void floatReprMatchesPythonOnEveryVector() {
        JsonNode doc = Vectors.json("vectors/floats.json");
        int n = 0;
        for (JsonNode v : doc) {
            double x = Double.longBitsToDouble(Long.parseUnsignedLong(v.get(0).textValue(), 16));
            assertEquals(v.get(1).textValue(), PyRepr.floatRepr(x), v.get(0).textValue());
            n++;
        }
        assertTrue(n > 1000, "vectors: " + n);
    }

    @Test
    void floatReprFormats() {
        assertEquals("0.0001", PyRepr.floatRepr(0.0001));
        assertEquals("1e-05", PyRepr.floatRepr(0.00001));
        assertEquals("0.3", PyRepr.floatRepr(0.3));
        assertEquals("1.0", PyRepr.floatRepr(1.0));
        assertEquals("-0.0", PyRepr.floatRepr(-0.0));
        assertEquals("1e+16", PyRepr.floatRepr(1e16));
        assertEquals("9999999999999998.0", PyRepr.floatRepr(9999999999999998.0));
        assertEquals("0.30000000000000004", PyRepr.floatRepr(0.1 + 0.2));
        assertEquals("5e-324", PyRepr.floatRepr(Double.MIN_VALUE));
        assertEquals("1e+23", PyRepr.floatRepr(1e23));
        assertEquals("inf", PyRepr.floatRepr(Double.POSITIVE_INFINITY));
        assertEquals("nan", PyRepr.floatRepr(Double.NaN));
    }

    @Test
    void jsonStringEscapesLikePythonEnsureAscii() {
        StringBuilder sb = new StringBuilder();
        PyRepr.appendJsonString(sb, "a\"b\\c\n\t\u0000\u007f\u00e9\ud83d\ude00\u2028/");
        assertEquals("\"a\\\"b\\\\c\\n\\t\\u0000\\u007f\\u00e9\\ud83d\\ude00\\u2028/\"",
                sb.toString());
    }

    @Test
    void floatReprEqualsAnExactShortestSearchOnRandomDoubles() {
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 8_000; i++) {
            double x = switch (i % 4) {
                case 0 -> Double.longBitsToDouble(r.nextLong() & Long.MAX_VALUE);
                case 1 -> r.nextDouble();
                case 2 -> Double.longBitsToDouble(r.nextLong(1L << 53)); // subnormal, tiny normal
                default -> Math.scalb(1.0, r.nextInt(-1074, 1024)); // powers of two
            };
            if (Double.isNaN(x) || Double.isInfinite(x) || x == 0) {
                continue;
            }
            String want = reference(x);
            assertEquals(want, PyRepr.floatRepr(x), () -> Long.toHexString(
                    Double.doubleToRawLongBits(x)));
        }
    }

    /**
     * Reference (slow, exact): for p = 1..17, the p-digit decimals nearest x (half-even rounding
     * of the exact binary value, and its neighbours) that read back as x; the first p with one
     * wins, the closest if two; then Python's fixed / exponent layout.
     */
    private static String reference(double x) {
        BigDecimal exact = new BigDecimal(x);
        for (int p = 1; p <= 17; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            BigDecimal unit = BigDecimal.ONE.scaleByPowerOfTen(r.precision() - r.scale() - p);
            BigDecimal best = null;
            for (BigDecimal c : new BigDecimal[] {r, r.add(unit), r.subtract(unit)}) {
                if (c.signum() > 0 && Double.parseDouble(c.toString()) == x && (best == null
                        || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = c;
                }
            }
            if (best != null) {
                BigDecimal s = best.stripTrailingZeros();
                String d = s.unscaledValue().toString();
                int decpt = d.length() - s.scale();
                if (decpt > -4 && decpt <= 16) {
                    if (decpt <= 0) {
                        return "0." + "0".repeat(-decpt) + d;
                    }
                    if (decpt >= d.length()) {
                        return d + "0".repeat(decpt - d.length()) + ".0";
                    }
                    return d.substring(0, decpt) + "." + d.substring(decpt);
                }
                int e = decpt - 1;
                return d.charAt(0) + (d.length() > 1 ? "." + d.substring(1) : "") + "e"
                        + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
            }
        }
        throw new AssertionError(x);
    }
}
