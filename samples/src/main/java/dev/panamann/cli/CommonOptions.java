package dev.panamann.cli;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import picocli.CommandLine.Option;

/** Options every {@code panama-nn} command takes: backend, threads, seed, --debug. */
public final class CommonOptions {
    @Option(names = "--backend", paramLabel = "NAME",
            description = "Compute backend: native (OpenBLAS + oneDNN), java (pure Java, slow) or auto (native when the "
                    + "libraries load, else java). Default: native for train and the CIFAR-10 / MNIST samples, auto otherwise.")
    String backend;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads for OpenBLAS, oneDNN and the Java loops (default: all cores, or PANAMANN_THREADS).")
    Integer threads;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of weight initialization, minibatch sampling and searches (default: ${DEFAULT-VALUE}).")
    public long seed;

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
        Ops ops = Workflows.backend(backend == null ? fallback : backend, threads);
        if (announce) System.err.println(Backends.describe(ops));
        return ops;
    }
}
