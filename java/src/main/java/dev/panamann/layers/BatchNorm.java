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
        if (numFeatures < 1) throw new IllegalArgumentException("BatchNorm needs numFeatures >= 1, got " + numFeatures);
        if (!(eps > 0)) throw new IllegalArgumentException("BatchNorm eps must be > 0, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("BatchNorm momentum must be in [0, 1], got " + momentum);
        }
        this.ops = ops;
        this.features = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.gamma = new Param(gammaName, Tensor.full(1f, numFeatures), false);
        this.beta = new Param(betaName, Tensor.zeros(numFeatures), false);
        this.runningMean = Tensor.zeros(numFeatures);
        this.runningVar = Tensor.full(1f, numFeatures);
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
        int n = x.dim(0), spatial = x.rank() == 4 ? Math.multiplyExact(x.dim(2), x.dim(3)) : 1;
        if (mode == Mode.TRAIN && (long) n * spatial < 2) {
            throw new IllegalArgumentException("BatchNorm in TRAIN mode needs more than one value per feature, but input "
                    + x.shapeString() + " has " + (x.rank() == 2 ? "a batch of 1" : "N*H*W = 1")
                    + ": the batch variance would be 0. Use a batch of 2 or more, or EVAL mode");
        }
        if (plan == null || !x.hasShape(planShape)) replan(x.shape(), n, spatial);
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
        plan.backward(x, dout, gamma.value(), dx, gamma.grad(), beta.grad());
        return dx;
    }

    private void replan(int[] shape, int n, int spatial) {
        closeBuffers();
        plan = ops.batchNorm(n, features, spatial, eps);
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
