package dev.panamann.layers;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;

/**
 * Convolution - ReLU - max pooling as one layer (cs231n's {@code conv_relu_pool_forward} /
 * {@code conv_relu_pool_backward}): the same function as {@link Conv2d}, {@link ReLU} and
 * {@link MaxPool2d} in a row, planned together so that the native backend keeps the
 * activations in oneDNN's blocked layout between the three (see {@link Ops#convReluPool}).
 * Input (N, C, H, W), output (N, F, PH, PW). Weights (F, C, KH, KW) and bias (F) are drawn
 * or given, as for {@link Conv2d}.
 */
public final class ConvReluPool extends ConvolutionLayer {
    private final int poolKernel, poolStride;
    private ConvReluPoolOp plan;

    /**
     * @param ops         backend
     * @param inC         input channels C
     * @param outC        number of filters F
     * @param kernel      filter height and width K
     * @param stride      convolution stride, 1 or more
     * @param pad         zero padding on every side, 0 or more
     * @param poolKernel  max-pool window
     * @param poolStride  max-pool step
     * @param rng         generator for the initial weights
     * @param weightScale standard deviation of the initial weights
     * @param weightName  name of the (F, C, K, K) weight parameter, e.g. "W1"
     * @param biasName    name of the (F) bias parameter, e.g. "b1"
     */
    public ConvReluPool(Ops ops, int inC, int outC, int kernel, int stride, int pad, int poolKernel, int poolStride,
                        Rng rng, float weightScale, String weightName, String biasName) {
        super("ConvReluPool", ops, new int[] {outC, inC, kernel, kernel}, stride, checkPool(pad, poolKernel, poolStride), rng,
                weightScale, weightName, biasName);
        this.poolKernel = poolKernel;
        this.poolStride = poolStride;
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
     * @param poolKernel max-pool window
     * @param poolStride max-pool step
     * @param weightName name of the weight parameter, e.g. "W1"
     * @param biasName   name of the bias parameter, e.g. "b1"
     * @throws IllegalArgumentException naming the shapes when w is not 4-D or b is not (F)
     */
    public ConvReluPool(Ops ops, Tensor w, Tensor b, int stride, int pad, int poolKernel, int poolStride,
                        String weightName, String biasName) {
        super("ConvReluPool", ops, w, b, stride, checkPool(pad, poolKernel, poolStride), weightName, biasName);
        this.poolKernel = poolKernel;
        this.poolStride = poolStride;
    }

    /** Checks the pooling settings before anything is allocated, and passes {@code pad} through. */
    private static int checkPool(int pad, int poolKernel, int poolStride) {
        if (poolKernel < 1 || poolStride < 1) {
            throw new IllegalArgumentException("ConvReluPool needs pool window and step >= 1, got pool " + poolKernel + "/" + poolStride);
        }
        return pad;
    }

    /** Max-pool window. */
    public int poolKernel() { return poolKernel; }

    /** Max-pool step. */
    public int poolStride() { return poolStride; }

    @Override
    ConvGeometry plannedFor() { return plan == null ? null : plan.conv(); }

    @Override
    boolean planStale() { return plan != null && plan.stale(); }

    @Override
    int[] newPlan(ConvGeometry g) {
        plan = ops.convReluPool(g, poolKernel, poolStride);
        return plan.pool().outputShape();
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
        return "ConvReluPool(" + inC + " -> " + outC + ", " + kernelH + "x" + kernelW + ", stride " + stride + ", pad " + pad
                + "; max pool " + poolKernel + "/" + poolStride + ")";
    }
}
