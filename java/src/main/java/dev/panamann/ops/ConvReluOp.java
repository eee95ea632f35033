package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * A planned convolution followed by a ReLU, {@code out = relu(conv(x, w) + b)}, for one
 * {@link ConvGeometry}; see {@link Ops#convRelu}. Planning the two together lets the native
 * backend apply the ReLU inside the convolution (a oneDNN post-op) instead of a second pass over
 * the output, and mask the gradient backward with the output it keeps. Backward follows the
 * convention of every op, stated in {@link Ops}.
 */
public interface ConvReluOp extends PlannedOp {
    ConvGeometry geometry();

    /**
     * out = relu(conv(x, w) + b).
     *
     * @param x        input, (N, C, H, W)
     * @param w        weights, (F, C, KH, KW)
     * @param b        bias, (F)
     * @param out      output, (N, F, OH, OW), overwritten
     * @param training when true, keeps what {@link #backward} needs (the output)
     */
    void forward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training);

    /**
     * Gradients after a training {@link #forward} on the same x and w; the ReLU's mask is the
     * output that forward computed ({@code out > 0} exactly where the convolution was).
     *
     * @param x    input of the training forward, (N, C, H, W), unchanged since
     * @param w    weights of the training forward, (F, C, KH, KW)
     * @param dout upstream gradient, (N, F, OH, OW)
     * @param dx   gradient for x, (N, C, H, W), overwritten; null when not needed
     * @param dw   gradient for w, (F, C, KH, KW), overwritten
     * @param db   gradient for b, (F), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db);
}
