package dev.panamann.cli;

import dev.panamann.ops.Ops;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of the commands and samples that train or draw random numbers: the
 * {@link BackendOptions} (backend, threads, --debug) and {@code --seed}.
 */
public final class CommonOptions {
    @Mixin
    BackendOptions backend;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of weight initialization, minibatch sampling and searches (default: ${DEFAULT-VALUE}).")
    public long seed;

    /** See {@link BackendOptions#ops(String)}. */
    public Ops ops(String fallback) {
        return backend.ops(fallback);
    }

    /** See {@link BackendOptions#ops(String, boolean)}. */
    public Ops ops(String fallback, boolean announce) {
        return backend.ops(fallback, announce);
    }
}
