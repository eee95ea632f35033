package dev.panamann.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old file or the whole new one, never a part:
 * the content goes to a temporary file in the same directory, is forced to the disk
 * ({@link FileChannel#force(boolean) force(true)}), and the temporary file is then renamed
 * over the target with {@link StandardCopyOption#ATOMIC_MOVE}. If writing fails, the
 * temporary file is deleted and the target is left as it was.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the content of a file to an open channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    /** Writes the content of a file to a stream (the stream must not be closed by the writer). */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code target} atomically; parent directories are created.
     *
     * @param target the file to create or replace
     * @param writer writes the whole content to the channel, from position 0
     */
    public static void write(Path target, ChannelWriter writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + abs + " atomically: the file system does not support it", e);
            }
            moved = true;
            syncDirectory(dir);
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /** Writes {@code target} atomically through an output stream. */
    public static void writeStream(Path target, StreamWriter writer) throws IOException {
        write(target, ch -> {
            OutputStream out = Channels.newOutputStream(ch);
            writer.write(out);
            out.flush();
        });
    }

    /** Writes {@code text} as UTF-8 to {@code target} atomically. */
    public static void writeString(Path target, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        writeStream(target, out -> out.write(bytes));
    }

    /**
     * Deletes the temporary files that writes of targets named {@code prefix...} in {@code dir}
     * left behind when the process was killed midway (a write that fails normally deletes its
     * own): files named {@code .<prefix>...<hex>.tmp}. Call it when a run that writes such
     * targets starts; a missing folder is fine.
     *
     * @return the number of files deleted
     */
    public static int deleteStale(Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote("." + prefix) + ".*\\.[0-9a-f]{1,16}\\.tmp");
        int n = 0;
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (p.matcher(f.getFileName().toString()).matches() && Files.isRegularFile(f) && Files.deleteIfExists(f)) n++;
            }
        }
        return n;
    }

    /** Makes the rename itself durable where the platform allows syncing a directory. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not possible on every platform (Windows); the data itself is already on disk
        }
    }
}
