package dev.panamann.cli;

import dev.panamann.loss.Loss;
import picocli.CommandLine.Option;

/** {@code --loss}: the loss a model trains with, for the commands that build models. */
public final class LossOption {
    @Option(names = "--loss", paramLabel = "NAME", defaultValue = ModelSpec.DEFAULT_LOSS,
            description = "Loss on the class scores: softmax (cross-entropy) or hinge (multiclass SVM) (default: ${DEFAULT-VALUE}).")
    String loss;

    /** Fails with a usage error naming the known losses when --loss names none of them. */
    void check() {
        if (!Loss.NAMES.contains(loss)) {
            throw new UserError("unknown --loss '" + loss + "': use one of " + String.join(", ", Loss.NAMES));
        }
    }

    /** {@code spec} with this loss. */
    ModelSpec apply(ModelSpec spec) {
        check();
        return spec.withLoss(loss);
    }

    /** The loss to give a model built without a {@link ModelSpec}. */
    Loss newLoss() {
        check();
        return Loss.byName(loss);
    }
}
