package dev.panamann.ops;

import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.ops.java.GemmKernel;
import dev.panamann.ops.java.JavaOps;

import java.util.Locale;

/**
 * Chooses the process-wide default backend.
 *
 * <p>The choice comes from the system property {@code panamann.backend} or the environment
 * variable {@code PANAMANN_BACKEND}: {@code native}, {@code java} or {@code auto} (the
 * default). {@code auto} takes the native backend when OpenBLAS and oneDNN load, and otherwise
 * falls back to pure Java with one warning line on stderr saying why. Asking for
 * {@code native} when a library is missing fails with the loader's error, which names the
 * library, where it looked and the package to install.
 *
 * <p>Thread count: {@code panamann.threads} / {@code PANAMANN_THREADS}, default the number of
 * cores; it reaches OpenBLAS, OpenMP (oneDNN) and the Java loops. Both backends set
 * flush-to-zero on the threads they compute on ({@link Denormals}, {@code panamann.flushDenormals}).
 * {@link #describe(Ops)} gives the one-line summary of all of it.
 */
public final class Backends {
    private static Ops current;

    private Backends() {}

    /** The default backend, created on first use. */
    public static synchronized Ops get() {
        if (current == null) current = create(setting("panamann.backend", "PANAMANN_BACKEND", "auto"));
        return current;
    }

    /** Replaces the default backend (the old one is not closed: its owner may still use it). */
    public static synchronized void set(Ops ops) {
        current = ops;
    }

    /**
     * A new backend by name: {@code native}, {@code java} or {@code auto}.
     *
     * @throws UnsatisfiedLinkError for {@code native} when a library is missing ({@code auto}
     *         falls back to Java for any failure to load the native libraries)
     */
    public static Ops create(String name) {
        int threads = defaultThreads();
        switch (name.toLowerCase(Locale.ROOT)) {
            case "native":
                return new NativeOps(threads);
            case "java":
                return new JavaOps(threads);
            case "auto":
                try {
                    return new NativeOps(threads);
                } catch (LinkageError | RuntimeException e) {
                    // any failure to load or bind a native library (missing, wrong file, missing
                    // symbols, wrong version) falls back; the reason goes on the warning line
                    System.err.println("panama-nn: WARNING: native backend unavailable, using pure Java (slow): " + reason(e));
                    return new JavaOps(threads);
                }
            default:
                throw new IllegalArgumentException("unknown backend '" + name + "': use native, java or auto");
        }
    }

    /**
     * One line saying what computes: backend and threads; for the native backend also the BLAS
     * core (and whether it was selected automatically), the oneDNN ISA and the OpenMP wait
     * policy; flush-to-zero and the Java loops ({@code vector} with {@code --add-modules
     * jdk.incubator.vector}, else {@code scalar}) for both. Printed by the command line at start-up.
     */
    public static String describe(Ops ops) {
        if (ops instanceof NativeOps n) return n.describe();
        return "backend " + ops.name() + ", " + ops.threads() + " threads, flush denormals " + Denormals.describe()
                + ", Java loops " + GemmKernel.describeSettings();
    }

    /** The message of {@code e}, or of its first cause that has one, with the exception's type. */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) return t.getMessage();
        }
        return e.toString();
    }

    /** The thread setting, or the number of cores. */
    public static int defaultThreads() {
        String s = setting("panamann.threads", "PANAMANN_THREADS", null);
        if (s == null) return Runtime.getRuntime().availableProcessors();
        try {
            int t = Integer.parseInt(s.trim());
            if (t >= 1) return t;
        } catch (NumberFormatException ignored) {
            // fall through to the error
        }
        throw new IllegalArgumentException("panamann.threads must be a whole number >= 1, got '" + s + "'");
    }

    static String setting(String property, String env, String fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? fallback : v;
    }
}
