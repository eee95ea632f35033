package dev.panamann.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a child JVM, for the fault tests whose failure
 * mode is the death of the process (a SIGSEGV in native code, an OutOfMemoryError, kill -9):
 * the test JVM survives and checks the child's exit code and output.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** Exit code, combined stdout and stderr, and the child's peak resident set in KiB (-1 if unknown). */
    public record Result(int exit, String output, long peakRssKib) {
        /** True when the JVM died from a signal or a fatal error rather than exiting. */
        public boolean crashed() {
            return exit > 128 || output.contains("A fatal error has been detected by the Java Runtime Environment");
        }
    }

    /** Starts {@code mainClass} with the given JVM options and arguments, without waiting. */
    public static Process start(List<String> jvmOptions, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:-CreateCoredumpOnCrash");
        cmd.addAll(jvmOptions);
        for (String p : new String[] {"panamann.requireNative", "panamann.backend"}) {
            String v = System.getProperty(p);
            if (v != null) cmd.add("-D" + p + "=" + v);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Path work = Path.of(System.getProperty("panamann.workDir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(work);
        pb.directory(work.toFile());
        return pb.start();
    }

    /** Runs {@code mainClass} to its end (at most {@code timeoutSeconds}, then kills it and fails). */
    public static Result run(List<String> jvmOptions, long timeoutSeconds, String mainClass, String... args)
            throws IOException, InterruptedException {
        Process p = start(jvmOptions, mainClass, args);
        long[] peak = {-1};
        Thread watcher = Thread.ofVirtual().start(() -> {
            while (p.isAlive()) {
                peak[0] = Math.max(peak[0], rssKib(p.pid()));
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(mainClass + " did not finish in " + timeoutSeconds + " s; output:\n"
                    + new String(out, StandardCharsets.UTF_8));
        }
        watcher.join();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), peak[0]);
    }

    /** VmHWM (peak resident set) of a live process in KiB, or -1. */
    static long rssKib(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | RuntimeException e) {
            // the process ended
        }
        return -1;
    }
}
