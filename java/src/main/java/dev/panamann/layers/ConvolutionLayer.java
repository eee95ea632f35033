package dev.panamann.layers;

import dev.panamann.tensor.Param;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * What {@link Conv2d} and {@link ConvReluPool} share: F square filters W (F, C, K, K), drawn
 * from N(0, weightScale^2) and covered by L2 regularization, a bias b (F) starting at zero and
 * not regularized, stride and zero padding on every side; an op planned for the first input
 * shape and planned again only when the shape changes, with output and input-gradient buffers
 * reused likewise; and the switch that lets a first layer skip its input gradient.
 */
public abstract sealed class ConvolutionLayer implements Layer permits Conv2d, ConvReluPool {
    private final String name;
    final Ops ops;
    final int inC, outC, kernel, stride, pad;
    private final Param weight, bias;
    private Tensor out, dx, x;
    private boolean inputGradient = true;

    ConvolutionLayer(String name, Ops ops, int inC, int outC, int kernel, int stride, int pad, Rng rng, float weightScale,
                     String weightName, String biasName) {
        if (inC < 1 || outC < 1 || kernel < 1 || stride < 1 || pad < 0) {
            throw new IllegalArgumentException(name + " needs inC, outC, kernel, stride >= 1 and pad >= 0, got inC " + inC
                    + ", outC " + outC + ", kernel " + kernel + ", stride " + stride + ", pad " + pad);
        }
        this.name = name;
        this.ops = ops;
        this.inC = inC;
        this.outC = outC;
        this.kernel = kernel;
        this.stride = stride;
        this.pad = pad;
        this.weight = new Param(weightName, Tensor.randn(rng, weightScale, outC, inC, kernel, kernel), true);
        this.bias = new Param(biasName, Tensor.zeros(outC), false);
    }

    /** The convolution geometry the current op was planned for, or null before the first forward. */
    abstract ConvGeometry plannedFor();

    /** Plans the op for {@code g} (the previous one is closed already) and returns the output shape. */
    abstract int[] newPlan(ConvGeometry g);

    abstract void runForward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training);

    abstract void runBackward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db);

    /** Closes the op, if any, and forgets it. */
    abstract void closePlan();

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN keeps x for {@link #backward}
     * @return output, (N, F, ...), owned by this layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4 || x.dim(1) != inC) {
            throw new IllegalArgumentException(name + " with " + inC + " input channels expects input (N, " + inC
                    + ", H, W) but got " + x.shapeString());
        }
        ConvGeometry g = new ConvGeometry(x.dim(0), inC, x.dim(2), x.dim(3), outC, kernel, kernel, stride, pad);
        if (!g.equals(plannedFor())) {
            closeBuffers();
            out = Tensor.zeros(newPlan(g));
            dx = Tensor.zeros(g.inputShape());
        }
        runForward(x, weight.value(), bias.value(), out, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return gradient for the input, (N, C, H, W), owned by this layer, or null when switched
     *         off by {@link #setInputGradient}; fills the gradients of W and b
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException(name + ".backward called without a TRAIN forward before it");
        runBackward(x, weight.value(), dout, inputGradient ? dx : null, weight.grad(), bias.grad());
        return inputGradient ? dx : null;
    }

    /**
     * Whether {@link #backward} computes the gradient for the input (default true). The first
     * layer of a network has no use for it; switching it off there skips the backward-data
     * convolution, a large part of that layer's backward time.
     */
    public ConvolutionLayer setInputGradient(boolean compute) {
        this.inputGradient = compute;
        return this;
    }

    /** The weight parameter, (F, C, K, K). */
    public Param weight() { return weight; }

    /** The bias parameter, (F). */
    public Param bias() { return bias; }

    @Override
    public List<Param> params() { return List.of(weight, bias); }

    private void closeBuffers() {
        closePlan();
        if (out != null) out.close();
        if (dx != null) dx.close();
        out = dx = x = null;
    }

    @Override
    public void close() {
        closeBuffers();
        weight.close();
        bias.close();
    }
}
