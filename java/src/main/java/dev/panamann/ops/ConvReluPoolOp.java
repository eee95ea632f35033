package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * A planned convolution - ReLU - pooling sandwich (cs231n {@code conv_relu_pool_forward} /
 * {@code conv_relu_pool_backward}) for one {@link ConvGeometry} and pooling window; see
 * {@link Ops#convReluPool}. Planning the three together lets the native backend keep the
 * intermediate activations in oneDNN's channel-blocked layout, reordering only the input and
 * the pooled output. Backward follows the convention of every op, stated in {@link Ops}.
 */
public interface ConvReluPoolOp extends PlannedOp {
    ConvGeometry conv();

    /** The pooling geometry, over the convolution's output (N, F, OH, OW). */
    PoolGeometry pool();

    /**
     * out = maxpool(relu(conv(x, w) + b)).
     *
     * @param x        input, (N, C, H, W)
     * @param w        weights, (F, C, KH, KW)
     * @param b        bias, (F)
     * @param out      output, (N, F, PH, PW), overwritten
     * @param training when true, keeps what {@link #backward} needs
     */
    void forward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training);

    /**
     * Gradients after a training {@link #forward} on the same x and w.
     *
     * @param x    input of the training forward, (N, C, H, W), unchanged since
     * @param w    weights of the training forward, (F, C, KH, KW)
     * @param dout upstream gradient, (N, F, PH, PW)
     * @param dx   gradient for x, (N, C, H, W), overwritten; null when not needed
     * @param dw   gradient for w, (F, C, KH, KW), overwritten
     * @param db   gradient for b, (F), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db);

    /** Checks the tensors of {@link #forward} against {@link #conv()} and {@link #pool()}. */
    default void checkForward(Tensor x, Tensor w, Tensor b, Tensor out) {
        ConvGeometry g = conv();
        x.requireShape("conv-relu-pool forward x", g.inputShape());
        w.requireShape("conv-relu-pool forward w", g.weightShape());
        b.requireShape("conv-relu-pool forward b", g.f());
        out.requireShape("conv-relu-pool forward out", pool().outputShape());
    }

    /** Checks the tensors of {@link #backward} against {@link #conv()} and {@link #pool()}; dx may be null. */
    default void checkBackward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        ConvGeometry g = conv();
        x.requireShape("conv-relu-pool backward x", g.inputShape());
        w.requireShape("conv-relu-pool backward w", g.weightShape());
        dout.requireShape("conv-relu-pool backward dout", pool().outputShape());
        if (dx != null) dx.requireShape("conv-relu-pool backward dx", g.inputShape());
        dw.requireShape("conv-relu-pool backward dw", g.weightShape());
        db.requireShape("conv-relu-pool backward db", g.f());
    }
}
