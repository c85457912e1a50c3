package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;

/**
 * {@code schemas/} against the last released version ({@code schemas/released/<n>/}) with the
 * BACKWARD rule of Confluent-compatible registries: a consumer on the new schema reads data
 * written with the released one (Avro's {@link SchemaCompatibility}, the check those registries
 * run). An incompatible change of {@code schemas/} fails this test, and so {@code make test}.
 */
class SchemaCompatibilityTest {

    private static final Path SCHEMAS = Path.of("..", "schemas");
    private static final List<String> FILES =
            List.of("click.avsc", "scroll.avsc", "hover.avsc", "event.avsc");

    /** {@code userpulse.Event} of the .avsc files in {@code dir} (payload records first). */
    static Schema load(Path dir) {
        Schema.Parser p = new Schema.Parser();
        Schema last = null;
        for (String f : FILES) {
            try {
                last = p.parse(Files.readString(dir.resolve(f)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return last;
    }

    static Path lastReleased() throws IOException {
        try (Stream<Path> dirs = Files.list(SCHEMAS.resolve("released"))) {
            return dirs.filter(Files::isDirectory)
                    .filter(d -> d.getFileName().toString().matches("[0-9]+"))
                    .max(Comparator.comparingInt(d -> Integer.parseInt(d.getFileName().toString())))
                    .orElseThrow(() -> new AssertionError("no schemas/released/<n>/ folder"));
        }
    }

    private static SchemaCompatibilityType backward(Schema current, Schema released) {
        return SchemaCompatibility.checkReaderWriterCompatibility(current, released).getType();
    }

    @Test
    void currentSchemasReadTheLastReleasedOnes() throws IOException {
        Path released = lastReleased();
        var result = SchemaCompatibility.checkReaderWriterCompatibility(load(SCHEMAS),
                load(released));
        assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(),
                "schemas/ cannot read data written with " + released + " (BACKWARD): "
                        + result.getResult().getIncompatibilities()
                        + "; add fields with a default, never remove or retype one");
    }

    @Test
    void theRuleRejectsARequiredNewFieldAndAcceptsAnOptionalOne() throws IOException {
        Schema released = load(lastReleased());
        Schema optional = new Schema.Parser().parse(Vectors.schema("v2")); // + locale, default null
        assertEquals(SchemaCompatibilityType.COMPATIBLE, backward(optional, released));
        assertEquals(SchemaCompatibilityType.COMPATIBLE, backward(released, optional)); // forward
        String v2 = Vectors.schema("v2");
        String optionalField = "{\"default\":null,\"name\":\"locale\",\"type\":[\"null\",\"string\"]}";
        assertTrue(v2.contains(optionalField), v2);
        Schema broken = new Schema.Parser().parse(
                v2.replace(optionalField, "{\"name\":\"locale\",\"type\":\"string\"}"));
        assertTrue(broken.toString().contains("\"locale\",\"type\":\"string\""), broken.toString());
        assertEquals(SchemaCompatibilityType.INCOMPATIBLE, backward(broken, released));
        assertFalse(load(SCHEMAS).toString().isEmpty());
    }
}
