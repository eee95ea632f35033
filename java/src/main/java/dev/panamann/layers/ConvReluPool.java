package dev.panamann.layers;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * Convolution - ReLU - max pooling as one layer (cs231n's {@code conv_relu_pool_forward} /
 * {@code conv_relu_pool_backward}): the same function as {@link Conv2d}, {@link ReLU} and
 * {@link MaxPool2d} in a row, planned together so that the native backend keeps the
 * activations in oneDNN's blocked layout between the three (see {@link Ops#convReluPool}).
 * Input (N, C, H, W), output (N, F, PH, PW).
 */
public final class ConvReluPool implements Layer {
    private final Ops ops;
    private final int inC, outC, kernel, stride, pad, poolKernel, poolStride;
    private final Param weight, bias;
    private ConvReluPoolOp plan;
    private Tensor out, dx, x;
    private boolean inputGradient = true;

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
        if (inC < 1 || outC < 1 || kernel < 1 || stride < 1 || pad < 0 || poolKernel < 1 || poolStride < 1) {
            throw new IllegalArgumentException("ConvReluPool needs inC, outC, kernel, stride, pool window and step >= 1 and pad >= 0, got inC "
                    + inC + ", outC " + outC + ", kernel " + kernel + ", stride " + stride + ", pad " + pad + ", pool "
                    + poolKernel + "/" + poolStride);
        }
        this.ops = ops;
        this.inC = inC;
        this.outC = outC;
        this.kernel = kernel;
        this.stride = stride;
        this.pad = pad;
        this.poolKernel = poolKernel;
        this.poolStride = poolStride;
        this.weight = new Param(weightName, Tensor.randn(rng, weightScale, outC, inC, kernel, kernel), true);
        this.bias = new Param(biasName, Tensor.zeros(outC), false);
    }

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN keeps what {@link #backward} needs
     * @return output, (N, F, PH, PW), owned by this layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4 || x.dim(1) != inC) {
            throw new IllegalArgumentException("ConvReluPool with " + inC + " input channels expects input (N, " + inC
                    + ", H, W) but got " + x.shapeString());
        }
        ConvGeometry g = new ConvGeometry(x.dim(0), inC, x.dim(2), x.dim(3), outC, kernel, kernel, stride, pad);
        if (plan == null || !plan.conv().equals(g)) replan(g);
        plan.forward(x, weight.value(), bias.value(), out, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * @param dout upstream gradient, (N, F, PH, PW)
     * @return gradient for the input, (N, C, H, W), owned by this layer, or null when switched
     *         off by {@link #setInputGradient}; fills the gradients of W and b
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("ConvReluPool.backward called without a TRAIN forward before it");
        plan.backward(x, weight.value(), dout, inputGradient ? dx : null, weight.grad(), bias.grad());
        return inputGradient ? dx : null;
    }

    /** Whether {@link #backward} computes the input gradient (default true; a first layer needs none). */
    public ConvReluPool setInputGradient(boolean compute) {
        this.inputGradient = compute;
        return this;
    }

    private void replan(ConvGeometry g) {
        closeBuffers();
        plan = ops.convReluPool(g, poolKernel, poolStride);
        out = Tensor.zeros(plan.pool().outputShape());
        dx = Tensor.zeros(g.inputShape());
    }

    /** The weight parameter, (F, C, K, K). */
    public Param weight() { return weight; }

    /** The bias parameter, (F). */
    public Param bias() { return bias; }

    @Override
    public List<Param> params() { return List.of(weight, bias); }

    private void closeBuffers() {
        if (plan != null) plan.close();
        if (out != null) out.close();
        if (dx != null) dx.close();
        plan = null;
        out = dx = x = null;
    }

    @Override
    public void close() {
        closeBuffers();
        weight.close();
        bias.close();
    }

    @Override
    public String toString() {
        return "ConvReluPool(" + inC + " -> " + outC + ", " + kernel + "x" + kernel + ", stride " + stride + ", pad " + pad
                + "; max pool " + poolKernel + "/" + poolStride + ")";
    }
}
