package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * A planned convolution - spatial batch norm - ReLU unit,
 * {@code out = relu(gamma * (conv(x, w) + b - mean) / sqrt(var + eps) + beta)} with statistics
 * per output channel, for one {@link ConvGeometry}; see {@link Ops#convBnRelu}. Planning the
 * three together lets the native backend keep the activations in oneDNN's blocked layout
 * between them and apply the ReLU inside the batch norm. Backward follows the convention of
 * every op, stated in {@link Ops}.
 */
public interface ConvBnReluOp extends PlannedOp {
    ConvGeometry geometry();

    /** Added to the variance. */
    float eps();

    /**
     * Training mode: the batch norm uses the batch mean and (biased) variance of the
     * convolution's output, keeps what {@link #backward} needs, and updates
     * {@code runningMean = momentum * runningMean + (1 - momentum) * mean} and likewise
     * {@code runningVar}. Eval mode: the running statistics, which stay as they are.
     *
     * @param x           input, (N, C, H, W)
     * @param w           weights, (F, C, KH, KW)
     * @param b           convolution bias, (F)
     * @param gamma       batch-norm scale, (F)
     * @param beta        batch-norm shift, (F)
     * @param out         output, (N, F, OH, OW), overwritten
     * @param runningMean (F), updated in training mode
     * @param runningVar  (F), updated in training mode
     * @param momentum    running-average momentum
     * @param training    batch statistics, their running update and the state for backward when true
     * @throws IllegalArgumentException on a shape mismatch, or in training mode when each channel
     *                                  has a single value (N * OH * OW == 1)
     */
    void forward(Tensor x, Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean,
                 Tensor runningVar, float momentum, boolean training);

    /**
     * Gradients after a training {@link #forward} on the same x, w and gamma, with the batch
     * statistics and the ReLU's mask that forward kept.
     *
     * @param x      input of the training forward, (N, C, H, W), unchanged since
     * @param w      weights of the training forward, (F, C, KH, KW)
     * @param gamma  scale of the training forward, (F)
     * @param dout   upstream gradient, (N, F, OH, OW)
     * @param dx     gradient for x, (N, C, H, W), overwritten; null when not needed
     * @param dw     gradient for w, (F, C, KH, KW), overwritten
     * @param db     gradient for b, (F), overwritten
     * @param dgamma gradient for gamma, (F), overwritten
     * @param dbeta  gradient for beta, (F), overwritten
     * @throws IllegalStateException if no training forward came before (or an evaluation forward came after it)
     */
    void backward(Tensor x, Tensor w, Tensor gamma, Tensor dout, Tensor dx, Tensor dw, Tensor db, Tensor dgamma,
                  Tensor dbeta);

    /** The shape checks of {@link #forward}, shared by the implementations (both shapes in the message). */
    default void checkForwardShapes(Tensor x, Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor out,
                                    Tensor runningMean, Tensor runningVar) {
        ConvGeometry g = geometry();
        g.checkForward(x, w, b, out);
        gamma.requireShape("conv-bn-relu forward gamma", g.f());
        beta.requireShape("conv-bn-relu forward beta", g.f());
        runningMean.requireShape("conv-bn-relu forward runningMean", g.f());
        runningVar.requireShape("conv-bn-relu forward runningVar", g.f());
    }

    /** The shape checks of {@link #backward}, shared by the implementations; dx may be null. */
    default void checkBackwardShapes(Tensor x, Tensor w, Tensor gamma, Tensor dout, Tensor dx, Tensor dw, Tensor db,
                                     Tensor dgamma, Tensor dbeta) {
        ConvGeometry g = geometry();
        g.checkBackward(x, w, dout, dx, dw, db);
        gamma.requireShape("conv-bn-relu backward gamma", g.f());
        dgamma.requireShape("conv-bn-relu backward dgamma", g.f());
        dbeta.requireShape("conv-bn-relu backward dbeta", g.f());
    }
}
