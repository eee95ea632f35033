package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.Dropout;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.layers.Param;
import dev.panamann.layers.ReLU;
import dev.panamann.layers.Sequential;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
public final class FullyConnectedNet implements Model {

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
    private final Sequential net = new Sequential();
    private final SoftmaxCrossEntropy softmax = new SoftmaxCrossEntropy();
    private final List<Param> params;
    private final List<Param> weights = new ArrayList<>();
    private float reg;

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
        this.options = options;
        this.reg = options.reg();
        dims = new int[hiddenDims.length + 2];
        dims[0] = inputDim;
        System.arraycopy(hiddenDims, 0, dims, 1, hiddenDims.length);
        dims[dims.length - 1] = numClasses;
        for (int d : dims) {
            if (d < 1) throw new IllegalArgumentException("FullyConnectedNet: all dimensions must be >= 1, got " + Arrays.toString(dims));
        }
        Rng rng = new Rng(options.seed());
        List<Param> ps = new ArrayList<>();
        int layers = dims.length - 1;
        try {
            for (int k = 1; k <= layers; k++) {
                int fanIn = dims[k - 1], fanOut = dims[k];
                float std = options.heInit() ? (float) Math.sqrt(2.0 / fanIn) : options.weightScale();
                Affine fc = new Affine(ops, fanIn, fanOut, rng, std, "W" + k, "b" + k);
                add(fc, ps, "");
                weights.add(fc.weight());
                if (k == layers) break;
                if (options.batchNorm()) add(new BatchNorm(ops, fanOut), ps, Integer.toString(k));
                add(new ReLU(), ps, "");
                if (options.dropout() > 0f) add(new Dropout(options.dropout(), rng), ps, "");
            }
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
        params = List.copyOf(ps);
    }

    /** Adds a layer and its params, renamed with {@code suffix} appended (e.g. gamma to gamma1). */
    private void add(Layer layer, List<Param> ps, String suffix) {
        net.add(layer);
        for (Param p : layer.params()) ps.add(suffix.isEmpty() ? p : p.withName(p.name() + suffix));
    }

    /**
     * @param x input batch, (N, D)
     * @return scores, (N, C), owned by the model
     */
    @Override
    public Tensor scores(Tensor x) {
        return net.forward(x, Mode.EVAL);
    }

    /**
     * @param x input batch, (N, D)
     * @param y labels, N values in [0, C)
     * @return mean softmax loss plus {@code 0.5 * reg * sum_k sum(Wk^2)}; fills every grad
     */
    @Override
    public float loss(Tensor x, int[] y) {
        return (float) lossDouble(x, y);
    }

    @Override
    public double lossDouble(Tensor x, int[] y) {
        Tensor scores = net.forward(x, Mode.TRAIN);
        double data = softmax.forwardDouble(scores, y);
        net.backward(softmax.dscores());
        return data + L2.apply(weights, reg);
    }

    @Override
    public List<Param> params() { return params; }

    @Override
    public int numClasses() { return dims[dims.length - 1]; }

    /** Number of affine layers, L. */
    public int numLayers() { return dims.length - 1; }

    /** The options the net was built with. */
    public Options options() { return options; }

    /** The L2 regularization strength. */
    public float reg() { return reg; }

    /** @param reg new L2 regularization strength, &gt;= 0 */
    public void setReg(float reg) { this.reg = L2.checkReg(reg); }

    /** The layers, for inspection. */
    public Sequential layers() { return net; }

    @Override
    public void close() {
        net.close();
        softmax.close();
    }

    @Override
    public String toString() {
        return "FullyConnectedNet(" + Arrays.toString(dims) + ", " + options + ")";
    }
}
