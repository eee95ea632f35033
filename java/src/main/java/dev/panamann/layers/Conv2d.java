package dev.panamann.layers;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * 2-D convolution (cs231n {@code conv_forward} / {@code conv_backward}): input (N, C, H, W),
 * {@code F} square filters of (C, K, K), stride and zero padding on every side, output
 * (N, F, OH, OW) with {@code OH = (H + 2 pad - K) / stride + 1}.
 *
 * <p>Parameters: weights "W" (F, C, K, K), drawn from N(0, weightScale^2) and covered by L2
 * regularization, and bias "b" (F), zeros, not regularized. The op is planned for the first
 * input shape and planned again only when the shape changes; output and input-gradient
 * buffers are reused likewise.
 */
public final class Conv2d implements Layer {
    private final Ops ops;
    private final int inC, outC, kernel, stride, pad;
    private final Param weight, bias;
    private Conv2dOp plan;
    private Tensor out, dx, x;
    private boolean inputGradient = true;

    /**
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
        if (inC < 1 || outC < 1 || kernel < 1 || stride < 1 || pad < 0) {
            throw new IllegalArgumentException("Conv2d needs inC, outC, kernel, stride >= 1 and pad >= 0, got inC " + inC
                    + ", outC " + outC + ", kernel " + kernel + ", stride " + stride + ", pad " + pad);
        }
        this.ops = ops;
        this.inC = inC;
        this.outC = outC;
        this.kernel = kernel;
        this.stride = stride;
        this.pad = pad;
        this.weight = new Param(weightName, Tensor.randn(rng, weightScale, outC, inC, kernel, kernel), true);
        this.bias = new Param(biasName, Tensor.zeros(outC), false);
    }

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN keeps x for {@link #backward} (an EVAL forward leaves it); the computation is the same
     * @return output, (N, F, OH, OW), owned by this layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4 || x.dim(1) != inC) {
            throw new IllegalArgumentException("Conv2d with " + inC + " input channels expects input (N, " + inC
                    + ", H, W) but got " + x.shapeString());
        }
        ConvGeometry g = new ConvGeometry(x.dim(0), inC, x.dim(2), x.dim(3), outC, kernel, kernel, stride, pad);
        if (plan == null || !plan.geometry().equals(g)) replan(g);
        plan.forward(x, weight.value(), bias.value(), out);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * @param dout upstream gradient, (N, F, OH, OW)
     * @return gradient for the input, (N, C, H, W), owned by this layer, or null when switched
     *         off by {@link #setInputGradient}; fills the gradients of W and b
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("Conv2d.backward called without a TRAIN forward before it");
        plan.backward(x, weight.value(), dout, inputGradient ? dx : null, weight.grad(), bias.grad());
        return inputGradient ? dx : null;
    }

    /**
     * Whether {@link #backward} computes the gradient for the input (default true). The first
     * layer of a network has no use for it; switching it off there skips the backward-data
     * convolution, a large part of that layer's backward time.
     */
    public Conv2d setInputGradient(boolean compute) {
        this.inputGradient = compute;
        return this;
    }

    private void replan(ConvGeometry g) {
        closeBuffers();
        plan = ops.conv2d(g);
        out = Tensor.zeros(g.outputShape());
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
        return "Conv2d(" + inC + " -> " + outC + ", " + kernel + "x" + kernel + ", stride " + stride + ", pad " + pad + ")";
    }
}
