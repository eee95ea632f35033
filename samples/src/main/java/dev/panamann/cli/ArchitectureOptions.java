package dev.panamann.cli;

import picocli.CommandLine.Option;

/** {@code --weight-scale} and {@code --batch-norm}: the architecture options {@code train} and {@code search} share. */
public final class ArchitectureOptions {
    @Option(names = "--weight-scale", paramLabel = "S",
            description = "Std of the initial weights (convnet, twolayer, fc without He init; default: per model, listed in train --help).")
    Float weightScale;

    @Option(names = "--batch-norm", negatable = true, description = "fc: batch norm after each hidden layer (default: on).")
    Boolean batchNorm;

    /** {@code spec} with the options given (a weight scale turns He initialization off). */
    public ModelSpec apply(ModelSpec spec) {
        ModelSpec s = spec;
        if (weightScale != null) s = s.withWeightScale(weightScale).withInit(false);
        if (batchNorm != null) s = s.withBatchNorm(batchNorm);
        return s;
    }
}
