package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.Sequential;
import dev.panamann.layers.Sigmoid;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;

/**
 * The classic MNIST net of the textbooks: affine - sigmoid - affine - softmax (784-50-10 in
 * the {@code MnistNets} sample), built as one {@link Sequential} of layers inside a {@link SequentialModel}.
 * <ul>
 *   <li>x: (N, D), or (N, d1, ..., dk) with d1 * ... * dk = D</li>
 *   <li>W1: (D, H), b1: (H), W2: (H, C), b2: (C)</li>
 *   <li>scores: (N, C)</li>
 * </ul>
 * Each weight matrix starts as {@code N(0, 1) / sqrt(fan-in)} (the scale that keeps a sigmoid
 * out of saturation), biases at zero; L2 covers W1 and W2.
 */
public final class SigmoidNet extends SequentialModel {
    private final int inputDim, hiddenDim;

    /**
     * @param ops        backend
     * @param inputDim   D
     * @param hiddenDim  H
     * @param numClasses C
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public SigmoidNet(Ops ops, int inputDim, int hiddenDim, int numClasses, float reg, long seed) {
        super(numClasses, reg);
        this.inputDim = inputDim;
        this.hiddenDim = hiddenDim;
        Rng rng = new Rng(seed);
        try {
            add(new Sequential(
                    new Affine(ops, inputDim, hiddenDim, rng, (float) (1 / Math.sqrt(inputDim)), "W1", "b1").setInputGradient(false),
                    new Sigmoid(),
                    new Affine(ops, hiddenDim, numClasses, rng, (float) (1 / Math.sqrt(hiddenDim)), "W2", "b2")), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "SigmoidNet(" + inputDim + " -> " + hiddenDim + " sigmoid -> " + numClasses() + ", reg=" + reg() + ")";
    }
}
