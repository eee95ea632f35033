package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;

/**
 * The cs231n two-layer net: affine - relu - affine - softmax, with L2 regularization
 * {@code 0.5 * reg * (sum W1^2 + sum W2^2)} on the weights (not on the biases).
 * <ul>
 *   <li>x: (N, D), or (N, d1, ..., dk) with d1 * ... * dk = D</li>
 *   <li>W1: (D, H), b1: (H), W2: (H, C), b2: (C)</li>
 *   <li>scores: (N, C)</li>
 * </ul>
 * Weights start as {@code std * N(0, 1)} from a generator seeded with {@code seed}, biases at
 * zero. Set other values with {@code paramMap().get("W1").value().copyFrom(...)}.
 */
public final class TwoLayerNet extends SequentialModel {
    private final Affine fc1;

    /**
     * @param ops        backend
     * @param inputDim   D
     * @param hiddenDim  H
     * @param numClasses C
     * @param std        standard deviation of the initial weights
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public TwoLayerNet(Ops ops, int inputDim, int hiddenDim, int numClasses, float std, float reg, long seed) {
        super(numClasses, reg);
        Rng rng = new Rng(seed);
        try {
            fc1 = add(new Affine(ops, inputDim, hiddenDim, rng, std, "W1", "b1"), "").setInputGradient(false);
            add(new ReLU(), "");
            add(new Affine(ops, hiddenDim, numClasses, rng, std, "W2", "b2"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "TwoLayerNet(" + fc1.inDim() + " -> " + fc1.outDim() + " -> " + numClasses() + ", reg=" + reg() + ")";
    }
}
