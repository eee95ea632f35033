package dev.panamann.layers;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluOp;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;

/**
 * Convolution followed by a ReLU as one layer: the same function as {@link Conv2d} then
 * {@link ReLU}, planned together (see {@link Ops#convRelu}) so that the native backend applies
 * the ReLU inside the convolution (a oneDNN post-op) and masks the gradient with the output it
 * keeps, without a separate pass or buffers for the ReLU. Input (N, C, H, W), output
 * (N, F, OH, OW). Weights (F, C, KH, KW) and bias (F) are drawn or given, as for {@link Conv2d}.
 * Where a max pool follows, {@link ConvReluPool} is faster still.
 */
public final class ConvRelu extends ConvolutionLayer {
    private ConvReluOp plan;

    /**
     * @param ops         backend
     * @param inC         input channels C
     * @param outC        number of filters F
     * @param kernel      filter height and width K
     * @param stride      convolution stride, 1 or more
     * @param pad         zero padding on every side, 0 or more
     * @param rng         generator for the initial weights
     * @param weightScale standard deviation of the initial weights
     * @param weightName  name of the (F, C, K, K) weight parameter, e.g. "W1"
     * @param biasName    name of the (F) bias parameter, e.g. "b1"
     */
    public ConvRelu(Ops ops, int inC, int outC, int kernel, int stride, int pad, Rng rng, float weightScale,
                    String weightName, String biasName) {
        super("ConvRelu", ops, new int[] {outC, inC, kernel, kernel}, stride, pad, rng, weightScale, weightName, biasName);
    }

    /**
     * A layer with the given convolution weights, which it owns from now on (closes them on
     * close).
     *
     * @param ops        backend
     * @param w          weights, (F, C, KH, KW); any KH and KW
     * @param b          bias, (F)
     * @param stride     convolution stride, 1 or more
     * @param pad        zero padding on every side, 0 or more
     * @param weightName name of the weight parameter, e.g. "W1"
     * @param biasName   name of the bias parameter, e.g. "b1"
     * @throws IllegalArgumentException naming the shapes when w is not 4-D or b is not (F)
     */
    public ConvRelu(Ops ops, Tensor w, Tensor b, int stride, int pad, String weightName, String biasName) {
        super("ConvRelu", ops, w, b, stride, pad, weightName, biasName);
    }

    @Override
    ConvGeometry plannedFor() { return plan == null ? null : plan.geometry(); }

    @Override
    boolean planStale() { return plan != null && plan.stale(); }

    @Override
    int[] newPlan(ConvGeometry g) {
        plan = ops.convRelu(g);
        return g.outputShape();
    }

    @Override
    void runForward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training) {
        plan.forward(x, w, b, out, training);
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
        return "ConvRelu(" + inC + " -> " + outC + ", " + kernelH + "x" + kernelW + ", stride " + stride + ", pad " + pad + ")";
    }
}
