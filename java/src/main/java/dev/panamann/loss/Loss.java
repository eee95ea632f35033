package dev.panamann.loss;

import dev.panamann.tensor.Tensor;

/**
 * A classification loss on class scores: {@link #forward} returns the mean loss over the batch
 * and fills {@link #dscores()} with its gradient.
 */
public interface Loss extends AutoCloseable {

    /**
     * @param scores class scores, (N, C), N &gt;= 1
     * @param y      labels, N values in [0, C)
     * @return the loss averaged over the N samples
     * @throws IllegalArgumentException when y does not have N labels or a label is outside [0, C)
     */
    default float forward(Tensor scores, int[] y) {
        return (float) forwardDouble(scores, y);
    }

    /**
     * As {@link #forward}, with the mean loss returned in double precision as it was summed
     * (gradient checks difference losses and need the digits a float would drop).
     *
     * @param scores class scores, (N, C), N &gt;= 1
     * @param y      labels, N values in [0, C)
     * @return the loss averaged over the N samples
     */
    double forwardDouble(Tensor scores, int[] y);

    /**
     * d loss / d scores from the last {@link #forward}, (N, C); owned by the loss and reused
     * while the scores' shape holds.
     */
    Tensor dscores();

    /** The names {@link #byName} knows, as the command line spells them. */
    java.util.List<String> NAMES = java.util.List.of("softmax", "hinge");

    /**
     * A new loss by name: {@code softmax} ({@link SoftmaxCrossEntropy}) or {@code hinge}
     * ({@link MulticlassHinge}, the multiclass SVM loss).
     *
     * @throws IllegalArgumentException for any other name, listing the known ones
     */
    static Loss byName(String name) {
        return switch (name == null ? "" : name.toLowerCase(java.util.Locale.ROOT)) {
            case "softmax" -> new SoftmaxCrossEntropy();
            case "hinge" -> new MulticlassHinge();
            default -> throw new IllegalArgumentException("unknown loss '" + name + "': use one of " + String.join(", ", NAMES));
        };
    }

    /** Frees the gradient buffer. */
    @Override
    void close();

    /**
     * Checks scores and labels as {@link #forward} documents.
     *
     * @param who    name for the messages
     * @param scores class scores, (N, C)
     * @param y      labels, N values in [0, C)
     */
    static void checkInputs(String who, Tensor scores, int[] y) {
        scores.checkOpen();
        if (scores.rank() != 2 || scores.dim(0) < 1) {
            throw new IllegalArgumentException(who + ": scores must be (N, C) with N >= 1 but has shape " + scores.shapeString());
        }
        if (y == null) throw new IllegalArgumentException(who + ": labels y are null");
        int n = scores.dim(0), c = scores.dim(1);
        if (y.length != n) {
            throw new IllegalArgumentException(who + ": y has " + y.length + " labels but scores has shape "
                    + scores.shapeString() + " (N = " + n + ")");
        }
        for (int i = 0; i < n; i++) {
            if (y[i] < 0 || y[i] >= c) {
                throw new IllegalArgumentException(who + ": label y[" + i + "] = " + y[i] + " is out of range [0, " + c
                        + ") for scores of shape " + scores.shapeString());
            }
        }
    }
}
