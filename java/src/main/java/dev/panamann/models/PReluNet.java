package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.PReLU;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;

/**
 * A one-hidden-layer MLP with a learned leaky slope per hidden unit: affine - PReLU - affine -
 * softmax (784-256-10 in the {@code MnistNets} sample).
 * <ul>
 *   <li>x: (N, D), or (N, d1, ..., dk) with d1 * ... * dk = D</li>
 *   <li>W1: (D, H), b1: (H), alpha1: (H), W2: (H, C), b2: (C)</li>
 *   <li>scores: (N, C)</li>
 * </ul>
 * Weights start with He initialization ({@code sqrt(2 / fan-in) * N(0, 1)}), biases at zero,
 * slopes at {@link PReLU#INITIAL_SLOPE}; L2 covers W1 and W2 (not the slopes).
 */
public final class PReluNet extends SequentialModel {
    private final int inputDim, hiddenDim;

    /**
     * @param ops        backend
     * @param inputDim   D
     * @param hiddenDim  H
     * @param numClasses C
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public PReluNet(Ops ops, int inputDim, int hiddenDim, int numClasses, float reg, long seed) {
        super(numClasses, reg);
        this.inputDim = inputDim;
        this.hiddenDim = hiddenDim;
        Rng rng = new Rng(seed);
        try {
            add(new Affine(ops, inputDim, hiddenDim, rng, (float) Math.sqrt(2.0 / inputDim), "W1", "b1"), "").setInputGradient(false);
            add(new PReLU(hiddenDim, "alpha1"), "");
            add(new Affine(ops, hiddenDim, numClasses, rng, (float) Math.sqrt(2.0 / hiddenDim), "W2", "b2"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "PReluNet(" + inputDim + " -> " + hiddenDim + " prelu -> " + numClasses() + ", reg=" + reg() + ")";
    }
}
