package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class StrictBinaryDecoderTest {

    private static StrictBinaryDecoder over(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        StrictBinaryDecoder d = new StrictBinaryDecoder();
        d.reset(b, 0, b.length);
        return d;
    }

    private static ErrorClass fault(String hex, Reader r) {
        AvroFault f = assertThrows(AvroFault.class, () -> r.read(over(hex)));
        assertTrue(f.getMessage().startsWith("avro body unreadable: "), f.getMessage());
        return f.errorClass;
    }

    interface Reader {
        Object read(StrictBinaryDecoder d) throws IOException;
    }

    @Test
    void longs() throws IOException {
        assertEquals(500L, over("e807").readLong());
        assertEquals(500L, over("e88780808000").readLong()); // non-minimal but 64-bit: accepted
        assertEquals(Long.MIN_VALUE, over("ffffffffffffffffff01").readLong());
        assertEquals(Long.MAX_VALUE, over("feffffffffffffffff01").readLong());
        assertEquals(-1L, over("01").readLong());
        assertEquals(ErrorClass.BAD_AVRO, fault("e8878080808080808002", StrictBinaryDecoder::readLong));
        assertEquals(ErrorClass.BAD_AVRO, fault("8080808080808080808000", StrictBinaryDecoder::readLong));
        assertEquals(ErrorClass.BAD_AVRO, fault("e887", StrictBinaryDecoder::readLong));
        assertEquals(ErrorClass.BAD_AVRO, fault("", StrictBinaryDecoder::readLong));
    }

    @Test
    void ints() throws IOException {
        assertEquals(Integer.MAX_VALUE, over("feffffff0f").readInt());
        assertEquals(Integer.MIN_VALUE, over("ffffffff0f").readInt());
        assertEquals(ErrorClass.BAD_AVRO, fault("8080808010", StrictBinaryDecoder::readInt));
        assertEquals(ErrorClass.BAD_AVRO, fault("808080808000", StrictBinaryDecoder::readInt));
    }

    @Test
    void stringsAreStrictUtf8() throws IOException {
        assertEquals("ü", over("04c3bc").readString());
        assertEquals("😀", over("08f09f9880").readString());
        assertEquals(ErrorClass.BAD_UTF8, fault("04fffe", StrictBinaryDecoder::readString));
        assertEquals(ErrorClass.BAD_UTF8, fault("06eda080", StrictBinaryDecoder::readString));
        assertEquals(ErrorClass.BAD_UTF8, fault("04c0af", StrictBinaryDecoder::readString));
        assertEquals(ErrorClass.BAD_UTF8, fault("0461e2", d -> d.readString(null)));
        assertEquals(ErrorClass.BAD_UTF8, fault("04fffe", d -> {
            d.skipString();
            return null;
        }));
        assertEquals(ErrorClass.BAD_AVRO, fault("01", StrictBinaryDecoder::readString));
        assertEquals(ErrorClass.BAD_AVRO, fault("0661", StrictBinaryDecoder::readString));
        assertEquals(ErrorClass.BAD_AVRO, fault("feffffffffffffff7f", StrictBinaryDecoder::readString));
        assertEquals("ab", over("046162").readString(null).toString());
    }

    @Test
    void otherTypes() throws IOException {
        assertEquals(true, over("01").readBoolean());
        assertEquals(ErrorClass.BAD_AVRO, fault("02", StrictBinaryDecoder::readBoolean));
        assertEquals(0.5, over("000000000000e03f").readDouble());
        assertEquals(ErrorClass.BAD_AVRO, fault("0000e03f", StrictBinaryDecoder::readDouble));
        assertEquals(1.5f, over("0000c03f").readFloat());
        assertEquals(ErrorClass.BAD_AVRO, fault("01", StrictBinaryDecoder::readIndex));
        assertEquals(ErrorClass.BAD_AVRO, fault("01", StrictBinaryDecoder::readEnum));
        assertEquals(2, over("04").readIndex());
        assertEquals(3, over("06616263").readBytes(null).remaining());
        assertEquals(ErrorClass.BAD_AVRO, fault("0661", d -> d.readBytes(null)));
        assertEquals(2L, over("040000").readArrayStart());
        assertEquals(ErrorClass.BAD_AVRO, fault("feffffffffffffff7f", StrictBinaryDecoder::readArrayStart));
        assertEquals(0L, over("03040102" + "00").skipArray()); // a sized block is skipped whole
        assertEquals(ErrorClass.BAD_AVRO, fault("0308", StrictBinaryDecoder::skipMap));
    }
}
