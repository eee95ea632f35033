package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.ConvReluPool;
import dev.panamann.layers.Dropout;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;

/**
 * The classic MNIST conv net: conv5x5x32 (pad 2) - relu - pool2 - conv5x5x64 (pad 2) - relu -
 * pool2 - fc1024 - relu - dropout - fc10 - softmax.
 * <ul>
 *   <li>x: (N, 1, 28, 28)</li>
 *   <li>W1: (32, 1, 5, 5), b1: (32); W2: (64, 32, 5, 5), b2: (64)</li>
 *   <li>W3: (64 * 7 * 7, 1024), b3: (1024); W4: (1024, 10), b4: (10)</li>
 *   <li>scores: (N, 10)</li>
 * </ul>
 * Weights start with He initialization ({@code sqrt(2 / fanIn) * N(0, 1)}), biases at zero.
 * Each conv - relu - pool stage is one {@link ConvReluPool}: on the native backend it is planned
 * as a unit that keeps its activations in oneDNN's blocked layout.
 */
public final class MnistCnn extends SequentialModel {
    private final float dropout;

    /** Dropout 0.5 (drop probability), reg 0. */
    public MnistCnn(Ops ops, long seed) {
        this(ops, 0.5f, 0f, seed);
    }

    /**
     * @param ops     backend
     * @param dropout probability of dropping a unit of the fc1024 layer in training, in [0, 1)
     * @param reg     L2 regularization strength, &gt;= 0
     * @param seed    seed of the weight initialization and of the dropout masks
     */
    public MnistCnn(Ops ops, float dropout, float reg, long seed) {
        this(ops, 28, 32, 64, 1024, dropout, reg, seed);
    }

    /**
     * The same architecture at other sizes (small ones for gradient checks).
     *
     * @param ops       backend
     * @param imageSize side of the square one-channel input, divisible by 4 (28 for MNIST)
     * @param filters1  filters of the first convolution (32)
     * @param filters2  filters of the second convolution (64)
     * @param hidden    units of the hidden affine layer (1024)
     * @param dropout   probability of dropping a hidden unit in training, in [0, 1)
     * @param reg       L2 regularization strength, &gt;= 0
     * @param seed      seed of the weight initialization and of the dropout masks
     */
    public MnistCnn(Ops ops, int imageSize, int filters1, int filters2, int hidden, float dropout, float reg, long seed) {
        super(10, reg);
        if (imageSize < 4 || imageSize % 4 != 0) {
            throw new IllegalArgumentException("MnistCnn: imageSize must be a positive multiple of 4, got " + imageSize);
        }
        this.dropout = dropout;
        Rng rng = new Rng(seed);
        int flat = filters2 * (imageSize / 4) * (imageSize / 4);
        try {
            add(new ConvReluPool(ops, 1, filters1, 5, 1, 2, 2, 2, rng, he(25), "W1", "b1"), "").setInputGradient(false);
            add(new ConvReluPool(ops, filters1, filters2, 5, 1, 2, 2, 2, rng, he(filters1 * 25), "W2", "b2"), "");
            add(new Affine(ops, flat, hidden, rng, he(flat), "W3", "b3"), "");
            add(new ReLU(), "");
            if (dropout > 0f) add(new Dropout(dropout, new Rng(seed ^ 0x5DEECE66DL)), "");
            add(new Affine(ops, hidden, 10, rng, he(hidden), "W4", "b4"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    private static float he(int fanIn) { return (float) Math.sqrt(2.0 / fanIn); }

    @Override
    public String toString() { return "MnistCnn(dropout " + dropout + ", reg " + reg() + ")"; }
}
