package dev.panamann.cli;

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
     * The backend these options name, made the process default.
     *
     * @param fallback the command's default when --backend is not given
     */
    public Ops ops(String fallback) {
        return Workflows.backend(backend == null ? fallback : backend, threads);
    }
}
