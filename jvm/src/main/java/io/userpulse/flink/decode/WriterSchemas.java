package io.userpulse.flink.decode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.ResolvingDecoder;

/**
 * The writer schemas a decoder knows, by their 64-bit single-object fingerprint, each with its
 * resolving decoder (writer -> reader) built once. The fingerprint is the CRC-64-AVRO of the
 * schema's Parsing Canonical Form (Avro specification, "Schema Fingerprints"), written
 * little-endian after {@code C3 01} (Avro specification, "Single-object encoding"); as hex, the
 * 16 digits of those 8 bytes in wire order (what {@code schemas/codec.py} prints).
 */
final class WriterSchemas {

    private final long[] fingerprints;
    private final ResolvingDecoder[] decoders;

    /**
     * @param reader the reader schema (always known as a writer too)
     * @param writers writer schema JSON by fingerprint hex (16 digits); may be empty
     * @param in the decoder every resolving decoder reads from
     * @throws IllegalArgumentException if a schema does not parse or a fingerprint is not the
     *     schema's own
     */
    WriterSchemas(Schema reader, Map<String, String> writers, StrictBinaryDecoder in) {
        List<Schema> schemas = new ArrayList<>();
        schemas.add(reader);
        for (Map.Entry<String, String> w : writers.entrySet()) {
            Schema s = parse(w.getValue());
            String own = fingerprintHex(s);
            if (!own.equalsIgnoreCase(w.getKey())) {
                throw new IllegalArgumentException("writer schema given as fingerprint "
                        + w.getKey() + " has fingerprint " + own);
            }
            schemas.add(s);
        }
        List<Long> fps = new ArrayList<>();
        List<ResolvingDecoder> decs = new ArrayList<>();
        for (Schema s : schemas) {
            long fp = SchemaNormalization.parsingFingerprint64(s);
            if (!fps.contains(fp)) {
                fps.add(fp);
                decs.add(resolving(s, reader, in));
            }
        }
        fingerprints = fps.stream().mapToLong(Long::longValue).toArray();
        decoders = decs.toArray(new ResolvingDecoder[0]);
    }

    /** A schema from JSON, with a clear error. */
    static Schema parse(String json) {
        try {
            return new Schema.Parser().parse(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not an Avro schema: " + e.getMessage(), e);
        }
    }

    /** A resolving decoder of {@code writer} data into {@code reader}, reading {@code in}. */
    static ResolvingDecoder resolving(Schema writer, Schema reader, StrictBinaryDecoder in) {
        try {
            return DecoderFactory.get().resolvingDecoder(writer, reader, in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The single-object fingerprint of {@code s} as 16 hex digits in wire (little-endian) order. */
    static String fingerprintHex(Schema s) {
        long fp = SchemaNormalization.parsingFingerprint64(s);
        return HexFormat.of().formatHex(littleEndian(fp));
    }

    static byte[] littleEndian(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    /** The little-endian long at {@code b[at, at + 8)}. */
    static long readFingerprint(byte[] b, int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[at + i] & 0xFF);
        }
        return v;
    }

    /** The resolving decoder of the writer with fingerprint {@code fp}, or null when unknown. */
    ResolvingDecoder forFingerprint(long fp) {
        for (int i = 0; i < fingerprints.length; i++) {
            if (fingerprints[i] == fp) {
                return decoders[i];
            }
        }
        return null;
    }
}
