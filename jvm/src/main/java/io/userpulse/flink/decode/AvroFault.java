package io.userpulse.flink.decode;

import java.io.IOException;

/**
 * A fault of the record's bytes found while reading the Avro body ({@link ErrorClass#BAD_AVRO} or
 * {@link ErrorClass#BAD_UTF8}). Internal to the decoder: {@link EventDecoder} turns it into a
 * {@link DecodeResult}. Carries no stack trace, so a bad record costs no more than a good one.
 */
final class AvroFault extends IOException {

    private static final long serialVersionUID = 1L;

    final transient ErrorClass errorClass;

    AvroFault(ErrorClass errorClass, String reason) {
        super(reason);
        this.errorClass = errorClass;
    }

    /** No stack trace: the fault is data, and filling one in would dominate its cost. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
