package dev.panamann.cli;

import picocli.CommandLine.Option;

/** {@code --num-train} and {@code --num-val}: how a command that trains splits the training set ({@code train}, {@code search}). */
public final class SplitOptions {
    @Option(names = "--num-train", paramLabel = "N",
            description = "Training examples (default: all but the validation ones: 49000 for CIFAR-10, 55000 for MNIST; "
                    + "search: 10000, the 49000 of the full split take ~5x longer). Lower it for quick runs; only what is needed is read.")
    Integer numTrain;

    @Option(names = "--num-val", paramLabel = "N",
            description = "Validation examples, the ones after the training ones (default: 1000 for CIFAR-10, 5000 for MNIST).")
    Integer numVal;
}
