package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * Planned batch normalization over (N, C, S) data: statistics per channel over N and the S
 * spatial positions. The 1-D form (N, D) is C = D, S = 1; the spatial form (N, C, H, W) is
 * S = H*W. See {@link Ops#batchNorm(int[], float)}. Backward follows the convention of every
 * op, stated in {@link Ops}.
 */
public interface BatchNormOp extends PlannedOp {
    int n();
    int c();
    int spatial();
    float eps();

    /**
     * Training mode: normalizes with the batch mean and (biased) variance, keeps them for
     * {@link #backward}, and updates {@code runningMean = momentum * runningMean + (1 -
     * momentum) * mean} and likewise {@code runningVar}. Eval mode: normalizes with the
     * running statistics. Then {@code out = gamma * xhat + beta}.
     *
     * @param x           input, N*C*S values laid out (N, C, S)
     * @param gamma       scale, (C)
     * @param beta        shift, (C)
     * @param out         output, same shape as x, overwritten
     * @param runningMean (C), updated in training mode
     * @param runningVar  (C), updated in training mode
     * @param momentum    running-average momentum (cs231n default 0.9)
     * @param training    batch statistics and update of the running ones when true
     * @throws IllegalArgumentException on a shape mismatch, or in training mode when each channel
     *                                  has a single value (N * S == 1): it would have no variance
     */
    void forward(Tensor x, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean, Tensor runningVar,
                 float momentum, boolean training);

    /**
     * Gradients after a training {@link #forward} on the same x, with the batch statistics that
     * forward kept.
     *
     * @param x      input of the training forward, unchanged since
     * @param gamma  scale, (C), as in the forward
     * @param dout   upstream gradient, same shape as x
     * @param dx     gradient for x, overwritten
     * @param dgamma gradient for gamma, (C), overwritten
     * @param dbeta  gradient for beta, (C), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor x, Tensor gamma, Tensor dout, Tensor dx, Tensor dgamma, Tensor dbeta);

    /**
     * The shape checks of {@link #forward}, shared by the implementations: x and out (N, C, ...)
     * with this op's N, C and spatial size and the same shape, gamma, beta and the running
     * statistics (C).
     */
    default void checkForwardShapes(Tensor x, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean, Tensor runningVar) {
        checkData(x, "batchnorm forward x", n(), c(), spatial());
        checkData(out, "batchnorm forward out", n(), c(), spatial());
        requireSame(x, out, "batchnorm forward");
        gamma.requireShape("batchnorm forward gamma", c());
        beta.requireShape("batchnorm forward beta", c());
        runningMean.requireShape("batchnorm forward runningMean", c());
        runningVar.requireShape("batchnorm forward runningVar", c());
    }

    // ------------------------------------------------------------------ shape checks shared by the implementations

    static void checkSizes(int n, int c, int s, float eps) {
        if (n < 1 || c < 1 || s < 1) {
            throw new IllegalArgumentException("batchnorm sizes must be positive: n " + n + ", c " + c + ", spatial " + s);
        }
        if (!(eps > 0)) throw new IllegalArgumentException("batchnorm eps must be > 0, got " + eps);
    }

    /** A training forward needs at least two values per channel to have a batch variance. */
    static void checkTrainable(int n, int c, int s) {
        if ((long) n * s < 2) {
            throw new IllegalArgumentException("batchnorm in training mode needs more than one value per channel, but the "
                    + "batch has N=" + n + (s > 1 ? " and " + s + " spatial positions" : "") + " (each of the " + c
                    + " channels would be normalized over a single value): use a batch of 2 or more");
        }
    }

    /** x must hold (N, C, S): shape (N, C) when S is 1, or (N, C, ...) with S positions after C. */
    static void checkData(Tensor t, String what, int n, int c, int s) {
        t.checkOpen();
        long spatial = 1;
        for (int d = 2; d < t.rank(); d++) spatial *= t.dim(d);
        if (t.rank() < 2 || t.dim(0) != n || t.dim(1) != c || spatial != s) {
            throw new IllegalArgumentException(what + ": expected (" + n + ", " + c + (s == 1 ? "" : ", ... " + s
                    + " spatial positions") + ") but got " + t.shapeString());
        }
    }

    static void requireSame(Tensor a, Tensor b, String what) {
        if (!a.sameShape(b)) {
            throw new IllegalArgumentException(what + ": x has shape " + a.shapeString() + " but out has shape " + b.shapeString());
        }
    }
}
