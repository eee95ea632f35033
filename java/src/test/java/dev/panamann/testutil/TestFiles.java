package dev.panamann.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Where the data tests write (under target/) and find the shared real data. */
public final class TestFiles {
    private TestFiles() {}

    /** A fresh, empty folder under panamann.workDir (or target/test-work). */
    public static Path freshDir(String name) throws IOException {
        Path root = Path.of(System.getProperty("panamann.workDir", "target/test-work"), "data");
        Path dir = root.resolve(name);
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.delete(p);
            }
        }
        return Files.createDirectories(dir);
    }

    /** A file of the shared data folder, or skips the test when it is not there (fails under panamann.requireData). */
    public static Path sharedOrSkip(String relative) {
        return dev.panamann.testutil.SharedData.file(relative);
    }

    /** The first {@code n} bytes of {@code src} written to {@code dst}. */
    public static Path truncatedCopy(Path src, Path dst, long n) throws IOException {
        byte[] b = Files.readAllBytes(src);
        return Files.write(dst, Arrays.copyOf(b, (int) n));
    }
}
