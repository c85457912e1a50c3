package io.userpulse.flink.decode;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * Resolves a Confluent wire-format schema id ({@code 00} + 4-byte big-endian id + body) to the
 * writer schema's JSON, and lists the schemas of the topic's subject (for single-object
 * fingerprints the job was not given). Optional: without one, a record starting with {@code 00}
 * is {@link ErrorClass#BAD_FRAMING}. {@link HttpSchemaRegistry} is the implementation over the
 * registry's REST API.
 */
@FunctionalInterface
public interface SchemaRegistryLookup extends Serializable {

    /**
     * @param schemaId the id from the record's header, 0..2^31-1
     * @return the writer schema JSON, or null when the registry does not know the id (the record
     *     is then {@link ErrorClass#UNKNOWN_SCHEMA})
     * @throws IOException the registry is unreachable, failing or too slow: not a bad record, so
     *     the decoder lets it propagate and the caller retries (case H09)
     */
    String writerSchemaJson(int schemaId) throws IOException;

    /**
     * Every schema (JSON) registered under the topic's subject, oldest first; empty when none or
     * unknown. Default: none.
     *
     * @throws IOException as {@link #writerSchemaJson}
     */
    default List<String> subjectSchemasJson() throws IOException {
        return List.of();
    }
}
