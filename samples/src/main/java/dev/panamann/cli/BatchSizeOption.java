package dev.panamann.cli;

import picocli.CommandLine.Option;

/** {@code --batch-size}: examples per step or per forward pass ({@code train}, {@code search}, {@code evaluate}). */
public final class BatchSizeOption {
    @Option(names = "--batch-size", paramLabel = "N",
            description = "Minibatch size (default: train: per model, listed at the end of train --help; search 200); evaluate: examples per forward pass (default: 200).")
    Integer batchSize;

    /** Whether --batch-size was given. */
    public boolean given() { return batchSize != null; }

    /**
     * --batch-size, or {@code fallback} without it.
     *
     * @throws UserError when the size given is below 1
     */
    public int orElse(int fallback) {
        int n = batchSize == null ? fallback : batchSize;
        if (n < 1) throw new UserError("--batch-size: batch size must be >= 1, got " + n);
        return n;
    }
}
