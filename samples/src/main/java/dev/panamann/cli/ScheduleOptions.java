package dev.panamann.cli;

import dev.panamann.train.TrainSettings;
import picocli.CommandLine.Option;

/**
 * {@code --update}, {@code --lr-decay} and {@code --epochs}: the schedule options {@code train}
 * and {@code search} share (their learning rates differ: a value in train, a range in search).
 */
public final class ScheduleOptions {
    @Option(names = {"--optimizer", "--update"}, paramLabel = "RULE",
            description = {"sgd, sgd_momentum, nesterov, rmsprop, adam, or with decoupled weight decay (--weight-decay):",
                    "  sgd_nesterov (Nesterov momentum 0.9) or adamw (default: train: per model, listed at the end of",
                    "  train --help; search sgd)."})
    String update;

    @Option(names = "--lr-decay", paramLabel = "F",
            description = "Learning rate factor after each epoch (default: train: per model, listed at the end of train --help; search 0.95).")
    Double lrDecay;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: train: per model, listed at the end of train --help; search 5 per trial).")
    Integer epochs;

    /** {@code s} with the options given. */
    public TrainSettings apply(TrainSettings s) {
        if (update != null) s = s.withUpdateRule(update);
        if (lrDecay != null) s = s.withLrDecay(lrDecay);
        if (epochs != null) s = s.withEpochs(epochs);
        return s;
    }
}
