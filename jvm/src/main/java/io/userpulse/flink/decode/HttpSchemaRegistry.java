package io.userpulse.flink.decode;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A {@link SchemaRegistryLookup} over the Confluent Schema Registry REST API (Confluent docs,
 * "Schema Registry API Reference"; served by Confluent, Karapace and Apicurio's
 * {@code /apis/ccompat/v7}), with Java's {@link HttpClient}.
 *
 * <ul>
 *   <li>{@code GET <url>/schemas/ids/<id>}: 200 -> the {@code schema} field; 404 -> null (not
 *       found: the record is a bad record); anything else -> {@link IOException}.
 *   <li>{@code GET <url>/subjects/<subject>/versions[/<v>]}: every schema of the subject (for
 *       single-object fingerprints the job was not given); 404 -> empty.
 * </ul>
 *
 * <p>Every request is bounded by {@code timeoutMs} (connect and response), so a registry that
 * accepts connections but never answers fails within that time instead of hanging (case H09 c).
 * Thread-safe; the HTTP client is made on first use (the object travels in the job graph).
 */
public final class HttpSchemaRegistry implements SchemaRegistryLookup {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String url;
    private final String subject;
    private final int timeoutMs;
    private transient volatile HttpClient client;

    /**
     * @param url base URL of the Confluent-compatible API, e.g.
     *     {@code http://127.0.0.1:18085/apis/ccompat/v7} (a trailing slash is dropped)
     * @param subject the subject of the topic's value schemas ({@code <topic>-value}), for
     *     fingerprint lookups; may be null (no subject lookups)
     * @param timeoutMs bound of one request (connect + answer), ms, 1..60000
     * @throws IllegalArgumentException a URL that is not http(s), or a timeout out of range
     */
    public HttpSchemaRegistry(String url, String subject, int timeoutMs) {
        String u = Objects.requireNonNull(url, "url").replaceAll("/+$", "");
        if (!u.startsWith("http://") && !u.startsWith("https://")) {
            throw new IllegalArgumentException("schema registry URL must be http(s)://..., got "
                    + url);
        }
        if (timeoutMs < 1 || timeoutMs > 60_000) {
            throw new IllegalArgumentException("timeoutMs must be 1..60000, got " + timeoutMs);
        }
        this.url = u;
        this.subject = subject;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public String writerSchemaJson(int schemaId) throws IOException {
        JsonNode body = get("/schemas/ids/" + schemaId);
        return body == null ? null : schemaText(body, "schema id " + schemaId);
    }

    @Override
    public List<String> subjectSchemasJson() throws IOException {
        List<String> out = new ArrayList<>();
        if (subject == null) {
            return out;
        }
        String base = "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8)
                + "/versions";
        JsonNode versions = get(base);
        if (versions == null) {
            return out;
        }
        for (JsonNode v : versions) {
            JsonNode body = get(base + "/" + v.asText());
            if (body != null) {
                out.add(schemaText(body, "subject " + subject + " version " + v.asText()));
            }
        }
        return out;
    }

    private static String schemaText(JsonNode body, String what) throws IOException {
        JsonNode s = body.get("schema");
        if (s == null || !s.isTextual()) {
            throw new IOException("registry answer for " + what + " has no schema: " + body);
        }
        return s.textValue();
    }

    /** The JSON answer of {@code GET url + path}; null on 404; IOException otherwise. */
    private JsonNode get(String path) throws IOException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + path))
                .timeout(Duration.ofMillis(timeoutMs))
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
                .GET().build();
        HttpResponse<String> resp;
        try {
            resp = client().send(req, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while asking the schema registry " + url, e);
        }
        if (resp.statusCode() == 404) {
            return null;
        }
        if (resp.statusCode() != 200) {
            throw new IOException("schema registry " + url + path + " answered HTTP "
                    + resp.statusCode());
        }
        return JSON.readTree(resp.body());
    }

    private HttpClient client() {
        HttpClient c = client;
        if (c == null) {
            c = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(timeoutMs)).build();
            client = c;
        }
        return c;
    }

    @Override
    public String toString() {
        return "HttpSchemaRegistry(" + url + ", subject " + subject + ", timeout " + timeoutMs
                + " ms)";
    }
}
