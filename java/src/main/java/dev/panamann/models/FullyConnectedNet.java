package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.Dropout;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import java.util.Arrays;

/**
 * A fully-connected net of any depth (cs231n {@code FullyConnectedNet}):
 * <pre>
 *   {affine - [batch norm] - relu - [dropout]} x (L - 1) - affine - softmax
 * </pre>
 * with L2 regularization {@code 0.5 * reg * sum_k sum(Wk^2)} on the weights only.
 * <ul>
 *   <li>x: (N, D), or (N, d1, ..., dk) with d1 * ... * dk = D</li>
 *   <li>Wk: (fan-in, fan-out), bk: (fan-out), for k = 1..L</li>
 *   <li>gammak, betak: (hidden dim k), for k = 1..L-1 when batch norm is on</li>
 *   <li>scores: (N, C)</li>
 * </ul>
 * Weights start as {@code weightScale * N(0, 1)}, or with He initialization
 * {@code sqrt(2 / fan-in) * N(0, 1)}; biases at zero.
 */
public final class FullyConnectedNet extends SequentialModel {

    /**
     * Construction options.
     *
     * @param weightScale standard deviation of the initial weights (ignored with He init), &gt; 0
     * @param heInit      use {@code sqrt(2 / fan-in)} as each layer's standard deviation instead
     * @param batchNorm   batch normalization after each hidden affine layer
     * @param dropout     probability of <b>dropping</b> a hidden unit, in [0, 1); 0 means no dropout
     *                    layers (cs231n's {@code dropout_keep_ratio} is {@code 1 - dropout})
     * @param reg         L2 regularization strength, &gt;= 0
     * @param seed        seed of the weight initialization and of the dropout masks
     */
    public record Options(float weightScale, boolean heInit, boolean batchNorm, float dropout, float reg, long seed) {
        /** weightScale 1e-2, no He init, no batch norm, no dropout, no regularization, seed 0. */
        public static final Options DEFAULT = new Options(1e-2f, false, false, 0f, 0f, 0L);

        public Options {
            if (!heInit && !(weightScale > 0f)) throw new IllegalArgumentException("weightScale must be > 0, got " + weightScale);
            if (!(dropout >= 0f && dropout < 1f)) {
                throw new IllegalArgumentException("dropout (drop probability) must be in [0, 1), got " + dropout);
            }
            L2.checkReg(reg);
        }

        public Options withWeightScale(float s) { return new Options(s, false, batchNorm, dropout, reg, seed); }

        public Options withHeInit() { return new Options(weightScale, true, batchNorm, dropout, reg, seed); }

        public Options withBatchNorm(boolean on) { return new Options(weightScale, heInit, on, dropout, reg, seed); }

        public Options withDropout(float p) { return new Options(weightScale, heInit, batchNorm, p, reg, seed); }

        public Options withReg(float r) { return new Options(weightScale, heInit, batchNorm, dropout, r, seed); }

        public Options withSeed(long s) { return new Options(weightScale, heInit, batchNorm, dropout, reg, s); }
    }

    private final Options options;
    private final int[] dims;

    /**
     * A net with {@code weightScale * N(0, 1)} weights, no batch norm and no dropout.
     *
     * @param ops         backend
     * @param hiddenDims  sizes of the hidden layers, L - 1 values (may be empty: softmax regression)
     * @param inputDim    D
     * @param numClasses  C
     * @param weightScale standard deviation of the initial weights
     * @param reg         L2 regularization strength, &gt;= 0
     * @param seed        seed of the weight initialization
     */
    public FullyConnectedNet(Ops ops, int[] hiddenDims, int inputDim, int numClasses, float weightScale, float reg, long seed) {
        this(ops, hiddenDims, inputDim, numClasses, Options.DEFAULT.withWeightScale(weightScale).withReg(reg).withSeed(seed));
    }

    /**
     * @param ops        backend
     * @param hiddenDims sizes of the hidden layers, L - 1 values (may be empty: softmax regression)
     * @param inputDim   D
     * @param numClasses C
     * @param options    initialization, batch norm, dropout, regularization and seed
     */
    public FullyConnectedNet(Ops ops, int[] hiddenDims, int inputDim, int numClasses, Options options) {
        super(numClasses, options.reg());
        this.options = options;
        dims = new int[hiddenDims.length + 2];
        dims[0] = inputDim;
        System.arraycopy(hiddenDims, 0, dims, 1, hiddenDims.length);
        dims[dims.length - 1] = numClasses;
        for (int d : dims) {
            if (d < 1) throw new IllegalArgumentException("FullyConnectedNet: all dimensions must be >= 1, got " + Arrays.toString(dims));
        }
        Rng rng = new Rng(options.seed());
        int layers = dims.length - 1;
        try {
            for (int k = 1; k <= layers; k++) {
                int fanIn = dims[k - 1], fanOut = dims[k];
                float std = options.heInit() ? (float) Math.sqrt(2.0 / fanIn) : options.weightScale();
                add(new Affine(ops, fanIn, fanOut, rng, std, "W" + k, "b" + k), "").setInputGradient(k > 1); // the data needs no gradient
                if (k == layers) break;
                if (options.batchNorm()) add(new BatchNorm(ops, fanOut), Integer.toString(k));
                add(new ReLU(), "");
                if (options.dropout() > 0f) add(new Dropout(options.dropout(), rng), "");
            }
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Number of affine layers, L. */
    public int numLayers() { return dims.length - 1; }

    /** The options the net was built with. */
    public Options options() { return options; }

    @Override
    public String toString() {
        return "FullyConnectedNet(" + Arrays.toString(dims) + ", " + options + ")";
    }
}
