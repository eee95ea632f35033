package dev.panamann.layers;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;

/**
 * 2-D convolution (cs231n {@code conv_forward} / {@code conv_backward}): input (N, C, H, W),
 * {@code F} filters of (C, KH, KW), stride and zero padding on every side, output
 * (N, F, OH, OW) with {@code OH = (H + 2 pad - KH) / stride + 1} and likewise OW.
 *
 * <p>Parameters: weights "W" (F, C, KH, KW), covered by L2 regularization, and bias "b" (F),
 * not regularized: either drawn (W from N(0, weightScale^2), b zeros) or given, e.g. from a
 * trained model: {@code new Conv2d(ops, w, b, 1, 3)}. The op is planned for the first input
 * shape and planned again only when the shape changes; output and input-gradient buffers are
 * reused likewise.
 */
public final class Conv2d extends ConvolutionLayer {
    private Conv2dOp plan;

    /**
     * F square filters of K x K drawn from N(0, weightScale^2), params named "W" and "b".
     *
     * @param ops         backend
     * @param inC         input channels C
     * @param outC        number of filters F
     * @param kernel      filter height and width K
     * @param stride      stride, 1 or more
     * @param pad         zero padding on every side, 0 or more
     * @param rng         generator for the initial weights
     * @param weightScale standard deviation of the initial weights
     */
    public Conv2d(Ops ops, int inC, int outC, int kernel, int stride, int pad, Rng rng, float weightScale) {
        this(ops, inC, outC, kernel, stride, pad, rng, weightScale, "W", "b");
    }

    /**
     * As {@link #Conv2d(Ops, int, int, int, int, int, Rng, float)} with parameter names, e.g.
     * "W1" and "b1" or "conv1.weight" and "conv1.bias".
     *
     * @param weightName name of the (F, C, K, K) weight parameter
     * @param biasName   name of the (F) bias parameter
     */
    public Conv2d(Ops ops, int inC, int outC, int kernel, int stride, int pad, Rng rng, float weightScale,
                  String weightName, String biasName) {
        this(ops, new int[] {outC, inC, kernel, kernel}, stride, pad, rng, weightScale, weightName, biasName);
    }

    /**
     * Filters of any height and width drawn from N(0, weightScale^2), e.g.
     * {@code new Conv2d(ops, new int[] {16, 3, 1, 7}, 1, 0, rng, 1e-2f, "W", "b")} for sixteen
     * 1x7 filters over three channels.
     *
     * @param ops         backend
     * @param weightShape (F, C, KH, KW)
     * @param stride      stride, 1 or more
     * @param pad         zero padding on every side, 0 or more
     * @param rng         generator for the initial weights
     * @param weightScale standard deviation of the initial weights
     * @param weightName  name of the weight parameter
     * @param biasName    name of the (F) bias parameter
     */
    public Conv2d(Ops ops, int[] weightShape, int stride, int pad, Rng rng, float weightScale,
                  String weightName, String biasName) {
        super("Conv2d", ops, weightShape, stride, pad, rng, weightScale, weightName, biasName);
    }

    /**
     * A layer with the given weights, which it owns from now on (closes them on close), params
     * named "W" and "b".
     *
     * @param ops    backend
     * @param w      weights, (F, C, KH, KW); any KH and KW
     * @param b      bias, (F)
     * @param stride stride, 1 or more
     * @param pad    zero padding on every side, 0 or more
     * @throws IllegalArgumentException naming the shapes when w is not 4-D or b is not (F)
     */
    public Conv2d(Ops ops, Tensor w, Tensor b, int stride, int pad) {
        this(ops, w, b, stride, pad, "W", "b");
    }

    /** As {@link #Conv2d(Ops, Tensor, Tensor, int, int)} with parameter names. */
    public Conv2d(Ops ops, Tensor w, Tensor b, int stride, int pad, String weightName, String biasName) {
        super("Conv2d", ops, w, b, stride, pad, weightName, biasName);
    }

    @Override
    ConvGeometry plannedFor() { return plan == null ? null : plan.geometry(); }

    @Override
    boolean planStale() { return plan != null && plan.stale(); }

    @Override
    int[] newPlan(ConvGeometry g) {
        plan = ops.conv2d(g);
        return g.outputShape();
    }

    /** The computation is the same in both modes; {@code training} is not used. */
    @Override
    void runForward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training) {
        plan.forward(x, w, b, out);
    }

    @Override
    void runBackward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        plan.backward(x, w, dout, dx, dw, db);
    }

    @Override
    StorageOrder weightOrder() { return plan == null ? null : plan.weightOrder(); }

    @Override
    void closePlan() {
        if (plan != null) plan.close();
        plan = null;
    }

    @Override
    public String toString() {
        return "Conv2d(" + inC + " -> " + outC + ", " + kernelH + "x" + kernelW + ", stride " + stride + ", pad " + pad + ")";
    }
}
