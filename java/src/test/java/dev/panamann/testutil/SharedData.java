package dev.panamann.testutil;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The real data sets in the shared data folder ({@code panamann.sharedDir}, set by the build
 * to {@code ../shared} next to the repository). A test on real data skips when the data is not
 * there, unless {@code -Dpanamann.requireData=true} (CI sets it): then missing data fails the
 * test, so that CI never reports green with the real-data tests skipped.
 */
public final class SharedData {
    private SharedData() {}

    /** {@code <sharedDir>/data/<relative>}, or skips (fails when data is required) when it does not exist. */
    public static Path file(String relative) {
        String shared = System.getProperty("panamann.sharedDir");
        Path p = shared == null ? null : Path.of(shared, "data", relative);
        if (p == null || !Files.exists(p)) {
            String why = shared == null ? "panamann.sharedDir not set" : "shared data not present: " + p;
            if (Boolean.getBoolean("panamann.requireData")) {
                throw new AssertionError(why + " (panamann.requireData=true: the real-data tests must run)");
            }
            Assumptions.abort(why);
        }
        return p;
    }
}
