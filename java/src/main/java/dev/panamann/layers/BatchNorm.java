package dev.panamann.layers;

import dev.panamann.tensor.Param;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * Batch normalization, 1-D over (N, D) input (cs231n {@code batchnorm_forward}) or spatial
 * over (N, C, H, W) input (cs231n {@code spatial_batchnorm_forward}: statistics per channel
 * over N, H and W).
 *
 * <p>TRAIN normalizes with the batch mean and biased variance and updates the running
 * statistics: {@code running = momentum * running + (1 - momentum) * batch}. EVAL normalizes
 * with the running statistics. Then {@code out = gamma * xhat + beta}.
 *
 * <p>Parameters: "gamma" (D or C), ones, and "beta", zeros; neither is regularized. The
 * running mean starts at 0 and the running variance at 1, so that an EVAL pass before any
 * training is the identity (cs231n starts the variance at 0; the two agree after a few
 * steps). {@link #runningMean()} and {@link #runningVar()} expose them for saving and loading.
 */
public final class BatchNorm implements Layer {
    private final Ops ops;
    private final int features;
    private final float eps, momentum;
    private final Param gamma, beta;
    private final Tensor runningMean, runningVar;
    private final String bufferPrefix;
    private BatchNormOp plan;
    private int[] planShape;
    private Tensor out, dx, x;

    /**
     * @param ops         backend
     * @param numFeatures D for (N, D) input, C for (N, C, H, W) input
     * @param eps         added to the variance (cs231n 1e-5)
     * @param momentum    running-average momentum (cs231n 0.9)
     */
    public BatchNorm(Ops ops, int numFeatures, float eps, float momentum) {
        this(ops, numFeatures, eps, momentum, "gamma", "beta");
    }

    /** With cs231n defaults eps 1e-5, momentum 0.9. */
    public BatchNorm(Ops ops, int numFeatures) { this(ops, numFeatures, 1e-5f, 0.9f); }

    /**
     * As {@link #BatchNorm(Ops, int, float, float)} with parameter names, e.g. "gamma1" and
     * "beta1" or "bn1.weight" and "bn1.bias".
     *
     * @param gammaName name of the (D) scale parameter
     * @param betaName  name of the (D) shift parameter
     */
    public BatchNorm(Ops ops, int numFeatures, float eps, float momentum, String gammaName, String betaName) {
        this(ops, eps, momentum, gammaName, betaName, "", newStatistics(numFeatures, eps, momentum));
    }

    /**
     * A layer with PyTorch's names under {@code prefix}: parameters {@code prefix.weight} (gamma)
     * and {@code prefix.bias} (beta), buffers {@code prefix.running_mean} and
     * {@code prefix.running_var}; for layers nested in blocks, whose names must be unique
     * within a model without a suffix.
     *
     * @param ops         backend
     * @param numFeatures D for (N, D) input, C for (N, C, H, W) input
     * @param eps         added to the variance
     * @param momentum    running-average momentum
     * @param prefix      e.g. "layer1.bn"
     */
    public static BatchNorm named(Ops ops, int numFeatures, float eps, float momentum, String prefix) {
        return new BatchNorm(ops, eps, momentum, prefix + ".weight", prefix + ".bias", prefix + ".",
                newStatistics(numFeatures, eps, momentum));
    }

    /**
     * A layer with the given parameters and running statistics (e.g. from a trained model),
     * which it owns from now on (closes them on close), parameters named "gamma" and "beta".
     *
     * @param ops         backend
     * @param gamma       scale, (D)
     * @param beta        shift, (D)
     * @param runningMean running mean, (D)
     * @param runningVar  running (biased) variance, (D), every value &gt;= 0
     * @param eps         added to the variance, &gt; 0 (cs231n 1e-5)
     * @param momentum    running-average momentum in [0, 1] (cs231n 0.9)
     * @throws IllegalArgumentException naming the shapes when the four tensors are not all of one
     *                                  shape (D), or when a running variance is negative or NaN
     */
    public BatchNorm(Ops ops, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, float momentum) {
        this(ops, gamma, beta, runningMean, runningVar, eps, momentum, "gamma", "beta");
    }

    /**
     * As {@link #BatchNorm(Ops, Tensor, Tensor, Tensor, Tensor, float, float)} with parameter
     * names, e.g. "gamma1" and "beta1".
     *
     * @param gammaName name of the scale parameter
     * @param betaName  name of the shift parameter
     */
    public BatchNorm(Ops ops, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, float momentum,
                     String gammaName, String betaName) {
        this(ops, eps, momentum, gammaName, betaName, "", checkGiven(gamma, beta, runningMean, runningVar, eps, momentum));
    }

    /** Takes the four tensors checked by {@link #newStatistics} or {@link #checkGiven}. */
    private BatchNorm(Ops ops, float eps, float momentum, String gammaName, String betaName, String bufferPrefix, Tensor[] t) {
        this.bufferPrefix = bufferPrefix;
        this.ops = ops;
        this.features = t[0].dim(0);
        this.eps = eps;
        this.momentum = momentum;
        this.gamma = new Param(gammaName, t[0], false);
        this.beta = new Param(betaName, t[1], false);
        this.runningMean = t[2];
        this.runningVar = t[3];
    }

    /** gamma ones, beta zeros, running mean 0 and running variance 1, each (numFeatures). */
    private static Tensor[] newStatistics(int numFeatures, float eps, float momentum) {
        checkSettings(eps, momentum);
        if (numFeatures < 1) throw new IllegalArgumentException("BatchNorm needs numFeatures >= 1, got " + numFeatures);
        return new Tensor[] {Tensor.full(1f, numFeatures), Tensor.zeros(numFeatures), Tensor.zeros(numFeatures),
                Tensor.full(1f, numFeatures)};
    }

    private static Tensor[] checkGiven(Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps,
                                       float momentum) {
        checkSettings(eps, momentum);
        Tensor[] t = {gamma, beta, runningMean, runningVar};
        String[] names = {"gamma", "beta", "running mean", "running variance"};
        for (int i = 0; i < 4; i++) {
            t[i].checkOpen();
            if (t[i].rank() != 1 || !t[i].sameShape(gamma)) {
                throw new IllegalArgumentException("BatchNorm: gamma, beta, running mean and running variance must all have "
                        + "shape (D), got " + gamma.shapeString() + ", " + beta.shapeString() + ", "
                        + runningMean.shapeString() + ", " + runningVar.shapeString() + " (" + names[i] + " differs)");
            }
        }
        float[] v = runningVar.toArray();
        for (int i = 0; i < v.length; i++) {
            if (!(v[i] >= 0)) {
                throw new IllegalArgumentException("BatchNorm: running variance must be >= 0 everywhere, but element " + i
                        + " is " + v[i]);
            }
        }
        return t;
    }

    private static void checkSettings(float eps, float momentum) {
        if (!(eps > 0)) throw new IllegalArgumentException("BatchNorm eps must be > 0, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("BatchNorm momentum must be in [0, 1], got " + momentum);
        }
    }

    /**
     * @param x    input, (N, D) or (N, C, H, W)
     * @param mode TRAIN: batch statistics, running-statistics update, cache for backward;
     *             EVAL: running statistics
     * @return output, same shape as x, owned by this layer
     * @throws IllegalArgumentException when the feature dimension is not {@code numFeatures},
     *                                  or in TRAIN mode when each feature has a single value (N = 1
     *                                  for (N, D); N*H*W = 1 for (N, C, H, W))
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if ((x.rank() != 2 && x.rank() != 4) || x.dim(1) != features) {
            throw new IllegalArgumentException("BatchNorm over " + features + " features expects input (N, " + features
                    + ") or (N, " + features + ", H, W) but got " + x.shapeString());
        }
        long n = x.dim(0), spatial = x.rank() == 4 ? (long) x.dim(2) * x.dim(3) : 1;
        if (mode == Mode.TRAIN && (long) n * spatial < 2) {
            throw new IllegalArgumentException("BatchNorm in TRAIN mode needs more than one value per feature, but input "
                    + x.shapeString() + " has " + (x.rank() == 2 ? "a batch of 1" : "N*H*W = 1")
                    + ": the batch variance would be 0. Use a batch of 2 or more, or EVAL mode");
        }
        if (plan == null || !x.hasShape(planShape) || plan.stale()) replan(x.shape());
        plan.forward(x, gamma.value(), beta.value(), out, runningMean, runningVar, momentum, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * @param dout upstream gradient, same shape as the input
     * @return gradient for the input, owned by this layer; fills the gradients of gamma and beta
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("BatchNorm.backward called without a TRAIN forward before it");
        dout.requireShape("BatchNorm.backward dout", planShape);
        plan.backward(x, gamma.value(), dout, dx, gamma.grad(), beta.grad());
        return dx;
    }

    /** Whether the current op must be planned again (for tests); false before the first forward. */
    boolean planStale() { return plan != null && plan.stale(); }

    private void replan(int[] shape) {
        closeBuffers();
        plan = ops.batchNorm(shape, eps);
        planShape = shape;
        out = Tensor.zeros(shape);
        dx = Tensor.zeros(shape);
    }

    /** The scale parameter, (D). */
    public Param gamma() { return gamma; }

    /** The shift parameter, (D). */
    public Param beta() { return beta; }

    /** Running mean, (D): read it to save a model, write it ({@link Tensor#copyFrom}) to load one. */
    public Tensor runningMean() { return runningMean; }

    /** Running (biased) variance, (D): read it to save a model, write it to load one. */
    public Tensor runningVar() { return runningVar; }

    public int numFeatures() { return features; }

    public float eps() { return eps; }

    public float momentum() { return momentum; }

    @Override
    public List<Param> params() { return List.of(gamma, beta); }

    /** "running_mean" and "running_var" (with the prefix of {@link #named}). */
    @Override
    public java.util.Map<String, Tensor> buffers() {
        java.util.Map<String, Tensor> m = new java.util.LinkedHashMap<>();
        m.put(bufferPrefix + "running_mean", runningMean);
        m.put(bufferPrefix + "running_var", runningVar);
        return m;
    }

    private void closeBuffers() {
        if (plan != null) plan.close();
        if (out != null) out.close();
        if (dx != null) dx.close();
        plan = null;
        planShape = null;
        out = dx = x = null;
    }

    @Override
    public void close() {
        closeBuffers();
        gamma.close();
        beta.close();
        runningMean.close();
        runningVar.close();
    }

    @Override
    public String toString() { return "BatchNorm(" + features + ", eps " + eps + ", momentum " + momentum + ")"; }
}
