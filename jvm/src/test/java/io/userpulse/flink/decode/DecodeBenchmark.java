package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * Decode time per event, JUnit-free (a measurement, not a test: the machines are shared and
 * noisy). Prints ns per record for a typical 186-byte HOVER (the size of the design's fastavro
 * figure, 4.4 us) and a short synthetic-traffic-like CLICK, for: this decoder (hand-rolled reader
 * over Avro's ResolvingDecoder and the strict binary decoder), the same plus validation and key
 * check (what the job runs per record), and Avro's GenericDatumReader over the strict decoder and
 * over Avro's own BinaryDecoder (lax), each converted to an Event.
 *
 * <p>Run: {@code java -cp target/classes:target/test-classes:<deps> io.userpulse.flink.decode.DecodeBenchmark}
 */
public final class DecodeBenchmark {

    private static volatile Object sink;

    private DecodeBenchmark() {}

    /** Runs the measurement; {@code args[0]} = records per round (default 300,000). */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 300_000;
        String v1 = Vectors.schema("v1");
        Schema schema = new Schema.Parser().parse(v1);
        byte[] typical = record(schema, 186);
        byte[] small = record(schema, 0);
        System.out.printf("records: %d and %d bytes, %d per round%n", typical.length, small.length, n);
        for (byte[] rec : new byte[][] {typical, small}) {
            EventDecoder d = new EventDecoder(v1, Map.of(), 65_536);
            RecordDecoder full = new RecordDecoder(d, new EventValidator(86_400_000L), () -> 1_717_250_000_000L);
            byte[] key = "user-00042".getBytes(StandardCharsets.UTF_8);
            if (!full.decode(key, rec, "t", 0, 0).isOk()) {
                throw new IllegalStateException(full.decode(key, rec, "t", 0, 0).toString());
            }
            GenericDatumReader<GenericRecord> generic = new GenericDatumReader<>(schema, schema);
            StrictBinaryDecoder strict = new StrictBinaryDecoder();
            BinaryDecoder[] lax = {null};
            String[] names = {"EventDecoder.decode", "RecordDecoder (decode+validate+key)",
                "GenericDatumReader, strict decoder", "GenericDatumReader, Avro BinaryDecoder"};
            Op[] ops = {
                () -> d.decode(rec),
                () -> full.decode(key, rec, "t", 0, 0),
                () -> {
                    strict.reset(rec, 10, rec.length);
                    return toEvent(generic.read(null, strict));
                },
                () -> {
                    lax[0] = DecoderFactory.get().binaryDecoder(rec, 10, rec.length - 10, lax[0]);
                    return toEvent(generic.read(null, lax[0]));
                }};
            measure(rec.length, names, ops, n);
        }
    }

    interface Op {
        Object run() throws Exception;
    }

    /** Rounds interleave the variants (a shared machine's load hits them alike). */
    private static void measure(int bytes, String[] names, Op[] ops, int n) throws Exception {
        int rounds = 7;
        double[][] nsPerOp = new double[ops.length][rounds];
        for (int round = 0; round < rounds; round++) { // the first two rounds warm up
            for (int v = 0; v < ops.length; v++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    sink = ops[v].run();
                }
                nsPerOp[v][round] = (System.nanoTime() - t0) / (double) n;
            }
        }
        for (int v = 0; v < ops.length; v++) {
            double[] m = Arrays.copyOfRange(nsPerOp[v], 2, rounds);
            Arrays.sort(m);
            System.out.printf("%3d B  %-40s median %6.0f ns/record (min %.0f, max %.0f)%n", bytes,
                    names[v], m[m.length / 2], m[0], m[m.length - 1]);
        }
    }

    private static Event toEvent(GenericRecord r) {
        Event e = new Event();
        e.eventId = r.get("event_id").toString();
        e.userId = r.get("user_id").toString();
        e.eventTimeMs = (Long) r.get("event_time");
        Object item = r.get("item_id");
        e.itemId = item == null ? null : item.toString();
        GenericRecord p = (GenericRecord) r.get("payload");
        Object dwell = p.getSchema().getField("dwell_ms") == null ? null : p.get("dwell_ms");
        e.dwellMs = dwell == null ? null : (Long) dwell;
        return e;
    }

    /** A HOVER padded to {@code size} bytes with its header (0: a short CLICK). */
    static byte[] record(Schema schema, int size) throws IOException {
        for (int step = 0; step < 400; step++) {
            int pad = step / 2;
            int trim = step % 2; // the item's length varint grows by a byte at 64: trim the id
            GenericRecord r = new GenericData.Record(schema);
            boolean hover = size > 0;
            r.put("event_id", hover ? "5f0c6f1e-8a4b-4d61-9a3e-2b7c1d9e4f80".substring(trim) : "syn-7-1234");
            r.put("user_id", "user-00042");
            r.put("event_time", 1_717_243_201_000L);
            r.put("session_id", hover ? "0b9d2c4e-6f1a-4e3b-8c5d-7a9e1f2b3c4d" : "s-7-99");
            r.put("item_id", hover ? "item-" + "x".repeat(pad) : "item-123");
            r.put("device", hover ? "mobile" : null);
            r.put("surface", hover ? "home" : null);
            r.put("row", hover ? 3 : null);
            Schema payload = schema.getField("payload").schema().getTypes().get(hover ? 2 : 0);
            GenericRecord p = new GenericData.Record(payload);
            if (hover) {
                p.put("dwell_ms", 1_234L);
            }
            r.put("payload", p);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(new byte[] {(byte) 0xC3, 0x01});
            out.write(WriterSchemas.littleEndian(
                    org.apache.avro.SchemaNormalization.parsingFingerprint64(schema)));
            BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
            new GenericDatumWriter<GenericRecord>(schema).write(r, enc);
            enc.flush();
            if (!hover || out.size() == size) {
                return out.toByteArray();
            }
        }
        throw new IllegalStateException("cannot pad to " + size);
    }
}
