package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.ConvReluPool;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import java.util.Arrays;

/**
 * The cs231n three-layer conv net: conv - relu - 2x2 max pool - affine - relu - affine -
 * softmax. The convolution has stride 1 and pads {@code (filterSize - 1) / 2} so that it keeps
 * H and W; the pool halves them.
 * <ul>
 *   <li>x: (N, C, H, W)</li>
 *   <li>W1: (F, C, filterSize, filterSize), b1: (F)</li>
 *   <li>W2: (F * H/2 * W/2, hiddenDim), b2: (hiddenDim)</li>
 *   <li>W3: (hiddenDim, numClasses), b3: (numClasses)</li>
 *   <li>scores: (N, numClasses)</li>
 * </ul>
 * Weights start as {@code weightScale * N(0, 1)}, biases at zero; L2 covers W1, W2, W3.
 */
public final class ThreeLayerConvNet extends SequentialModel {
    private final int[] inputDim;
    private final int numFilters, filterSize, hiddenDim;

    /** cs231n defaults: input (3, 32, 32), 32 filters 7x7, 100 hidden, 10 classes, weight scale 1e-3, reg 0. */
    public ThreeLayerConvNet(Ops ops, long seed) {
        this(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 0f, seed);
    }

    /**
     * @param ops         backend
     * @param inputDim    (C, H, W) of one example; H and W even
     * @param numFilters  F, filters of the convolution
     * @param filterSize  odd kernel size (so that the padding keeps H and W)
     * @param hiddenDim   units of the hidden affine layer
     * @param numClasses  classes scored
     * @param weightScale standard deviation of the initial weights
     * @param reg         L2 regularization strength, &gt;= 0
     * @param seed        seed of the weight initialization
     */
    public ThreeLayerConvNet(Ops ops, int[] inputDim, int numFilters, int filterSize, int hiddenDim, int numClasses,
                             float weightScale, float reg, long seed) {
        super(numClasses, reg);
        if (inputDim.length != 3 || inputDim[1] % 2 != 0 || inputDim[2] % 2 != 0) {
            throw new IllegalArgumentException("ThreeLayerConvNet: inputDim must be (C, H, W) with even H and W, got "
                    + Arrays.toString(inputDim));
        }
        if (filterSize % 2 == 0) {
            throw new IllegalArgumentException("ThreeLayerConvNet: filterSize must be odd to keep H and W, got " + filterSize);
        }
        this.inputDim = inputDim.clone();
        this.numFilters = numFilters;
        this.filterSize = filterSize;
        this.hiddenDim = hiddenDim;
        Rng rng = new Rng(seed);
        int c = inputDim[0], h = inputDim[1], w = inputDim[2];
        try {
            // conv - relu - 2x2 max pool, planned as one unit (the activations stay in oneDNN's layout)
            add(new ConvReluPool(ops, c, numFilters, filterSize, 1, (filterSize - 1) / 2, 2, 2, rng, weightScale, "W1", "b1"), "")
                    .setInputGradient(false);
            add(new Affine(ops, numFilters * (h / 2) * (w / 2), hiddenDim, rng, weightScale, "W2", "b2"), "");
            add(new ReLU(), "");
            add(new Affine(ops, hiddenDim, numClasses, rng, weightScale, "W3", "b3"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** (C, H, W) of one example. */
    public int[] inputDim() { return inputDim.clone(); }

    @Override
    public String toString() {
        return "ThreeLayerConvNet(input " + Arrays.toString(inputDim) + ", conv " + filterSize + "x" + filterSize + "x"
                + numFilters + ", hidden " + hiddenDim + ", classes " + numClasses() + ", reg " + reg() + ")";
    }
}
