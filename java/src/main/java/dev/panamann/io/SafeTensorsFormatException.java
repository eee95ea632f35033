package dev.panamann.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not a valid safetensors file (or is truncated), with where the problem is. */
public final class SafeTensorsFormatException extends IOException {
    private final transient Path file;
    private final long offset;

    /**
     * @param file    the file read
     * @param offset  byte offset in the file where the problem is
     * @param message what is wrong
     */
    public SafeTensorsFormatException(Path file, long offset, String message) {
        super(file + ": at byte offset " + offset + ": " + message);
        this.file = file;
        this.offset = offset;
    }

    /** The file that was read. */
    public Path file() { return file; }

    /** Byte offset in the file where the problem was found. */
    public long offset() { return offset; }
}
