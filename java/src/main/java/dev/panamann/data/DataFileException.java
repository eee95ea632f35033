package dev.panamann.data;

import java.io.IOException;

/**
 * A data file that exists but does not hold what its format promises: a wrong magic number, a
 * truncated record, a label out of range, an entry of the wrong size. The message names the
 * file (and the archive entry, if any) and the byte offset where the problem is; the same
 * facts are available from {@link #file()}, {@link #entry()} and {@link #offset()}.
 */
public final class DataFileException extends IOException {
    private final String file;
    private final String entry;
    private final long offset;

    /**
     * @param file   the file on disk, as given by the caller
     * @param entry  the archive entry inside {@code file}, or null for a plain file
     * @param offset the byte offset of the problem (in the entry, or in the file's decompressed
     *               data for a gzip file), or -1 when no offset applies
     * @param what   what is wrong
     */
    public DataFileException(String file, String entry, long offset, String what) {
        this(file, entry, offset, what, null);
    }

    public DataFileException(String file, String entry, long offset, String what, Throwable cause) {
        super(file + (entry == null ? "" : " (entry " + entry + ")")
                + (offset >= 0 ? " at byte offset " + offset : "") + ": " + what, cause);
        this.file = file;
        this.entry = entry;
        this.offset = offset;
    }

    /** The file the problem is in. */
    public String file() { return file; }

    /** The archive entry the problem is in, or null. */
    public String entry() { return entry; }

    /** Byte offset of the problem, or -1. */
    public long offset() { return offset; }
}
