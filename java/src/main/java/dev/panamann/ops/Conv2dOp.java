package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * A planned convolution for one {@link ConvGeometry}; see {@link Ops#conv2d}. Backward follows
 * the convention of every op, stated in {@link Ops}.
 */
public interface Conv2dOp extends PlannedOp {
    ConvGeometry geometry();

    /**
     * out = conv(x, w) + b.
     *
     * @param x   input, (N, C, H, W)
     * @param w   weights, (F, C, KH, KW)
     * @param b   bias, (F)
     * @param out output, (N, F, OH, OW), overwritten
     */
    void forward(Tensor x, Tensor w, Tensor b, Tensor out);

    /**
     * Gradients of a loss with respect to x, w and b, given its gradient {@code dout}
     * with respect to the output of {@link #forward} on the same x and w.
     *
     * @param x    input of the forward pass, (N, C, H, W), unchanged since
     * @param w    weights of the forward pass, (F, C, KH, KW)
     * @param dout upstream gradient, (N, F, OH, OW)
     * @param dx   gradient for x, (N, C, H, W), overwritten; may be null when not needed
     * @param dw   gradient for w, (F, C, KH, KW), overwritten
     * @param db   gradient for b, (F), overwritten
     */
    void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db);
}
