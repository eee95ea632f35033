package dev.panamann.cli;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import picocli.CommandLine.Option;

/** {@code --backend}, {@code --threads} and {@code --debug}: the options of every {@code panama-nn} command. */
public final class BackendOptions {
    @Option(names = "--backend", paramLabel = "NAME",
            description = "Compute backend: native (OpenBLAS + oneDNN), java (pure Java, slow) or auto (native when the "
                    + "libraries load, else java). Default: native for train and the CIFAR-10 / MNIST samples, auto otherwise.")
    String backend;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads for OpenBLAS, oneDNN and the Java loops (default: all cores, or PANAMANN_THREADS).")
    Integer threads;

    @Option(names = "--debug", description = "Print the stack trace of an error.")
    boolean debug;

    /**
     * The backend these options name; prints its one-line description ({@link Backends#describe})
     * on stderr.
     *
     * @param fallback the command's default when --backend is not given
     */
    public Ops ops(String fallback) {
        return ops(fallback, true);
    }

    /**
     * The backend these options name.
     *
     * @param fallback the command's default when --backend is not given
     * @param announce print {@link Backends#describe} on stderr (false when the command prints it itself)
     */
    public Ops ops(String fallback, boolean announce) {
        Ops ops = backend(backend == null ? fallback : backend, threads);
        if (announce) System.err.println(Backends.describe(ops));
        return ops;
    }

    /**
     * Creates a backend (the caller closes it; the models built on it take it explicitly).
     *
     * @param name    "native", "java" or "auto"
     * @param threads threads for OpenBLAS / oneDNN / the Java loops, or null for the default
     */
    public static Ops backend(String name, Integer threads) {
        Ops ops;
        try {
            ops = Backends.create(name);
        } catch (UnsatisfiedLinkError e) {
            throw new UserError("the native backend cannot be loaded: " + e.getMessage()
                    + "\n  Install the libraries, or run on the pure-Java backend with --backend java (slow) or --backend auto.", e);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        }
        if (threads != null) {
            if (threads < 1) {
                ops.close();
                throw new UserError("--threads must be >= 1, got " + threads);
            }
            ops.setThreads(threads);
        }
        return ops;
    }
}
