package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * Planned batch normalization over (N, C, S) data: statistics per channel over N and the S
 * spatial positions. The 1-D form (N, D) is C = D, S = 1; the spatial form (N, C, H, W) is
 * S = H*W. See {@link Ops#batchNorm}.
 */
public interface BatchNormOp extends AutoCloseable {
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
     * Gradients after a training {@link #forward} on the same x.
     *
     * @param x      input of the forward pass
     * @param dout   upstream gradient, same shape as x
     * @param gamma  scale, (C)
     * @param dx     gradient for x, overwritten
     * @param dgamma gradient for gamma, (C), overwritten
     * @param dbeta  gradient for beta, (C), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor x, Tensor dout, Tensor gamma, Tensor dx, Tensor dgamma, Tensor dbeta);

    @Override
    void close();
}
