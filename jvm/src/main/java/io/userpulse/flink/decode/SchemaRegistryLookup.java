package io.userpulse.flink.decode;

import java.io.IOException;

/**
 * Resolves a Confluent wire-format schema id ({@code 00} + 4-byte big-endian id + body) to the
 * writer schema's JSON, for example through a Schema Registry client. Optional: without one, a
 * record starting with {@code 00} is {@link ErrorClass#BAD_FRAMING} (registry support is a later
 * issue; this is the seam it plugs into).
 */
@FunctionalInterface
public interface SchemaRegistryLookup {

    /**
     * @param schemaId the id from the record's header, 0..2^31-1
     * @return the writer schema JSON, or null when the registry does not know the id (the record
     *     is then {@link ErrorClass#UNKNOWN_SCHEMA})
     * @throws IOException the registry is unreachable or failing: not a bad record, so the
     *     decoder lets it propagate (case H09)
     */
    String writerSchemaJson(int schemaId) throws IOException;
}
