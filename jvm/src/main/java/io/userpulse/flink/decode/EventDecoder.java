package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.ResolvingDecoder;

/**
 * Kafka record value -> {@link Event}, or a typed failure: the contract of the Python
 * {@code schemas/codec.py::Decoder} (design section 3), on the JVM.
 *
 * <p>Framing: Avro single-object encoding, {@code C3 01} + the writer schema's 8-byte
 * CRC-64-AVRO fingerprint (little-endian) + the Avro binary body. With a {@link
 * SchemaRegistryLookup}, also the Confluent wire format, {@code 00} + 4-byte big-endian schema id
 * + body; without one a record starting with {@code 00} is {@code bad_framing}. The first byte
 * tells the two apart on one topic. Schemas from the registry are kept in bounded caches (ids;
 * fingerprints of the topic's subject, asked when a fingerprint is not among the given writers;
 * a fingerprint the subject lacks is not asked again for {@link #FINGERPRINT_MISS_TTL_MS}). The body is
 * resolved from the writer schema to the reader schema (Avro's {@link ResolvingDecoder}, so an
 * optional field added with a default works both ways) over a strict binary decoder (strict
 * UTF-8, no overlong varints, bounded lengths: see {@link ErrorClass#BAD_AVRO}), and every byte
 * of the record must be consumed.
 *
 * <p>Bad input is data: {@link #decode} returns a {@link DecodeResult} and does not throw for
 * any content of the bytes (see {@link ErrorClass} for the classes; reasons start like the
 * Python ones). It checks no field values: that is {@link EventValidator}'s job ({@link
 * RecordDecoder} runs both). Not thread-safe: one instance per operator instance.
 */
public final class EventDecoder {

    /** Default bound of a record value, in bytes (as {@code schemas/codec.py}). */
    public static final int DEFAULT_MAX_RECORD_BYTES = 65_536;

    /** Default bound of each registry cache (ids, fingerprints), in schemas. */
    public static final int DEFAULT_CACHE_SIZE = 1_000;

    /** How long a fingerprint the registry's subject lacks is not asked again, ms. */
    public static final long FINGERPRINT_MISS_TTL_MS = 30_000;

    private static final int SINGLE_OBJECT_HEADER_BYTES = 10;
    private static final int CONFLUENT_HEADER_BYTES = 5;

    private final Schema reader;
    private final StrictBinaryDecoder in = new StrictBinaryDecoder();
    private final WriterSchemas writers;
    private final EventReader eventReader;
    private final int maxRecordBytes;
    private final SchemaRegistryLookup registry;
    private final BoundedCache<Integer, ResolvingDecoder> byId;
    private final BoundedCache<Long, ResolvingDecoder> byFingerprint;
    private final BoundedCache<Long, Long> fingerprintMisses;
    private final LongSupplier clockMs;

    /**
     * A decoder for single-object encoded records.
     *
     * @param readerSchemaJson the schema events are resolved into ({@code userpulse.Event}, with
     *     its payload records inlined); always known as a writer schema too
     * @param writerSchemasByFingerprint further writer schemas (JSON) by their single-object
     *     fingerprint, 16 hex digits in wire order ({@code "22326ba50b7ae27e"}); may be empty
     * @param maxRecordBytes longer record values are {@code too_large}; must be positive
     * @throws IllegalArgumentException a schema does not parse, a fingerprint is not its schema's,
     *     the reader schema cannot fill an event, or {@code maxRecordBytes <= 0}
     */
    public EventDecoder(String readerSchemaJson, Map<String, String> writerSchemasByFingerprint,
            int maxRecordBytes) {
        this(readerSchemaJson, writerSchemasByFingerprint, maxRecordBytes, null,
                DEFAULT_CACHE_SIZE, System::currentTimeMillis);
    }

    /** {@link #EventDecoder(String, Map, int, SchemaRegistryLookup, int, LongSupplier)} with the
     * default cache size and the wall clock. */
    public EventDecoder(String readerSchemaJson, Map<String, String> writerSchemasByFingerprint,
            int maxRecordBytes, SchemaRegistryLookup registry) {
        this(readerSchemaJson, writerSchemasByFingerprint, maxRecordBytes, registry,
                DEFAULT_CACHE_SIZE, System::currentTimeMillis);
    }

    /**
     * Same as {@link #EventDecoder(String, Map, int)}, also reading the Confluent wire format
     * with writer schemas from {@code registry} (null: Confluent framing is {@code bad_framing}),
     * and asking it for fingerprints the given writers lack.
     *
     * @param cacheSize the most schemas kept per registry cache (ids; fingerprints), >= 1
     * @param clockMs a clock, ms (the expiry of fingerprint misses)
     */
    public EventDecoder(String readerSchemaJson, Map<String, String> writerSchemasByFingerprint,
            int maxRecordBytes, SchemaRegistryLookup registry, int cacheSize,
            LongSupplier clockMs) {
        if (maxRecordBytes <= 0) {
            throw new IllegalArgumentException("maxRecordBytes must be > 0, got " + maxRecordBytes);
        }
        this.reader = WriterSchemas.parse(readerSchemaJson);
        this.eventReader = new EventReader(reader);
        this.writers = new WriterSchemas(reader, writerSchemasByFingerprint, in);
        this.maxRecordBytes = maxRecordBytes;
        this.registry = registry;
        this.byId = new BoundedCache<>(cacheSize);
        this.byFingerprint = new BoundedCache<>(cacheSize);
        this.fingerprintMisses = new BoundedCache<>(cacheSize);
        this.clockMs = clockMs;
    }

    /**
     * The single-object fingerprint of a schema: 16 hex digits in wire order, as
     * {@code schemas/codec.py} prints it ({@code WriterSchema.fingerprint.hex()}).
     *
     * @throws IllegalArgumentException if {@code schemaJson} is not an Avro schema
     */
    public static String fingerprintHex(String schemaJson) {
        return WriterSchemas.fingerprintHex(WriterSchemas.parse(schemaJson));
    }

    /**
     * Decodes one record value. Topic, partition and offset of the event are left unset.
     *
     * @param value the Kafka record value (null is {@code empty}: tombstones are the caller's)
     * @return the event, or the error class and reason; never null
     * @throws UncheckedIOException only from a {@link SchemaRegistryLookup} that cannot reach its
     *     registry (an outage is not a bad record: the caller retries the same record)
     */
    public DecodeResult decode(byte[] value) {
        if (value == null) {
            return DecodeResult.failure(ErrorClass.EMPTY, "record value is null");
        }
        int n = value.length;
        if (n == 0) {
            return DecodeResult.failure(ErrorClass.EMPTY, "record value has zero bytes");
        }
        if (n > maxRecordBytes) {
            return DecodeResult.failure(ErrorClass.TOO_LARGE, n + " bytes > " + maxRecordBytes);
        }
        ResolvingDecoder rd;
        int offset;
        if (n >= 2 && value[0] == (byte) 0xC3 && value[1] == 0x01) {
            if (n < SINGLE_OBJECT_HEADER_BYTES) {
                return DecodeResult.failure(ErrorClass.BAD_FRAMING,
                        "single-object header truncated (" + n + " bytes)");
            }
            rd = forFingerprint(WriterSchemas.readFingerprint(value, 2));
            if (rd == null) {
                return DecodeResult.failure(ErrorClass.UNKNOWN_SCHEMA, "unknown writer schema "
                        + "fingerprint " + HexFormat.of().formatHex(value, 2, 10));
            }
            offset = SINGLE_OBJECT_HEADER_BYTES;
        } else if (value[0] == 0 && registry != null) {
            if (n < CONFLUENT_HEADER_BYTES) {
                return DecodeResult.failure(ErrorClass.BAD_FRAMING,
                        "confluent header truncated (" + n + " bytes)");
            }
            int id = (value[1] & 0xFF) << 24 | (value[2] & 0xFF) << 16 | (value[3] & 0xFF) << 8
                    | (value[4] & 0xFF);
            rd = id < 0 ? null : forSchemaId(id);
            if (rd == null) {
                return DecodeResult.failure(ErrorClass.UNKNOWN_SCHEMA,
                        "unknown schema id " + Integer.toUnsignedString(id));
            }
            offset = CONFLUENT_HEADER_BYTES;
        } else {
            return DecodeResult.failure(ErrorClass.BAD_FRAMING, "no known framing, first bytes "
                    + HexFormat.of().formatHex(value, 0, Math.min(4, n)));
        }
        if (offset == n) {
            return DecodeResult.failure(ErrorClass.BAD_AVRO, "framing header with no body");
        }
        return body(rd, value, offset);
    }

    private DecodeResult body(ResolvingDecoder rd, byte[] value, int offset) {
        in.reset(value, offset, value.length);
        Event e;
        try {
            rd.configure(in); // resets the parser, also after a failed record
            e = eventReader.read(rd);
        } catch (AvroFault f) {
            return DecodeResult.failure(f.errorClass, f.getMessage());
        } catch (IOException | RuntimeException ex) { // resolution faults of the bytes
            return DecodeResult.failure(ErrorClass.BAD_AVRO, StrictBinaryDecoder.PREFIX + what(ex));
        }
        int left = value.length - in.position();
        if (left != 0) {
            return DecodeResult.failure(ErrorClass.TRAILING_BYTES,
                    left + " bytes left after the record");
        }
        return DecodeResult.ok(e);
    }

    /** A reason for an exception of Avro's resolving parser. */
    private String what(Exception ex) {
        if (ex instanceof ArrayIndexOutOfBoundsException) {
            return "union index " + in.lastIndex + " out of range before byte " + in.position();
        }
        String kind = ex instanceof AvroRuntimeException ? "" : ex.getClass().getSimpleName() + ": ";
        return kind + ex.getMessage() + " (before byte " + in.position() + ")";
    }

    private ResolvingDecoder forSchemaId(int id) {
        ResolvingDecoder rd = byId.get(id);
        if (rd == null) {
            String json;
            try {
                json = registry.writerSchemaJson(id);
            } catch (IOException e) {
                throw new UncheckedIOException("schema registry lookup of id " + id, e);
            }
            if (json == null) {
                return null;
            }
            rd = resolvingOrNull(json);
            if (rd == null) {
                return null;
            }
            byId.put(id, rd);
        }
        return rd;
    }

    /** A given writer, else one of the registry's subject schemas (cached), else null. */
    private ResolvingDecoder forFingerprint(long fp) {
        ResolvingDecoder rd = writers.forFingerprint(fp);
        if (rd != null || registry == null) {
            return rd;
        }
        rd = byFingerprint.get(fp);
        if (rd != null) {
            return rd;
        }
        Long missed = fingerprintMisses.get(fp);
        long now = clockMs.getAsLong();
        if (missed != null && now - missed < FINGERPRINT_MISS_TTL_MS) {
            return null;
        }
        List<String> schemas;
        try {
            schemas = registry.subjectSchemasJson();
        } catch (IOException e) {
            throw new UncheckedIOException("schema registry lookup of the subject's schemas", e);
        }
        for (String json : schemas) {
            Schema s = parseOrNull(json);
            if (s != null && SchemaNormalization.parsingFingerprint64(s) == fp) {
                rd = resolvingOrNull(json);
                if (rd != null) {
                    byFingerprint.put(fp, rd);
                }
                return rd;
            }
        }
        fingerprintMisses.put(fp, now);
        return null;
    }

    /** A resolving decoder of a registry schema, or null when it does not parse or resolve. */
    private ResolvingDecoder resolvingOrNull(String json) {
        Schema s = parseOrNull(json);
        try {
            return s == null ? null : WriterSchemas.resolving(s, reader, in);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Schema parseOrNull(String json) {
        try {
            return WriterSchemas.parse(json);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
