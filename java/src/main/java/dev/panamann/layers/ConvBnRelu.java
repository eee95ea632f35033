package dev.panamann.layers;

import dev.panamann.ops.ConvBnReluOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Convolution - spatial batch norm - ReLU, the unit of VGG- and ResNet-style nets: a
 * {@link Conv2d} of K x K filters (He initialization, zero bias), a {@link BatchNorm} over its
 * channels and a {@link ReLU}. Names follow PyTorch under one prefix: {@code prefix.conv.weight},
 * {@code prefix.conv.bias}, {@code prefix.bn.weight}, {@code prefix.bn.bias} and the buffers
 * {@code prefix.bn.running_mean}, {@code prefix.bn.running_var}.
 *
 * <p>The three run as one planned op ({@link Ops#convBnRelu}): on the native backend a oneDNN
 * convolution writing its blocked layout and a oneDNN batch normalization with the ReLU fused
 * ({@code dnnl_fuse_norm_relu}) on that same memory, with reorders to and from plain NCHW only
 * at the unit's input and output; on the Java backend the convolution, the batch norm and the
 * ReLU loop one after another. {@link #conv()} and {@link #batchNorm()} hold the parameters and
 * running statistics; the unit does not run their forward. EVAL normalizes with the running
 * statistics.
 */
public final class ConvBnRelu implements Layer {
    private final Conv2d conv;
    private final BatchNorm bn;
    private final Ops ops;
    private final String prefix;
    private ConvBnReluOp plan;
    private Tensor out, dx, x;
    private boolean inputGradient = true;

    /**
     * @param ops    backend
     * @param inC    input channels
     * @param outC   filters
     * @param kernel odd filter size K; the padding (K - 1) / 2 keeps H and W at stride 1
     * @param stride convolution stride (2 halves H and W)
     * @param rng    generator for the initial weights, N(0, 2 / (inC K K))
     * @param prefix name prefix of the parameters and buffers, e.g. "layer1.0"
     */
    public ConvBnRelu(Ops ops, int inC, int outC, int kernel, int stride, Rng rng, String prefix) {
        if (kernel < 1 || kernel % 2 == 0) throw new IllegalArgumentException("ConvBnRelu needs an odd kernel size, got " + kernel);
        if (inC < 1 || outC < 1) throw new IllegalArgumentException("ConvBnRelu needs channels >= 1, got " + inC + " -> " + outC);
        this.ops = ops;
        this.prefix = prefix;
        this.conv = new Conv2d(ops, inC, outC, kernel, stride, (kernel - 1) / 2, rng,
                (float) Math.sqrt(2.0 / ((double) inC * kernel * kernel)), prefix + ".conv.weight", prefix + ".conv.bias");
        BatchNorm b;
        try {
            b = BatchNorm.named(ops, outC, 1e-5f, 0.9f, prefix + ".bn");
        } catch (RuntimeException e) {
            conv.close();
            throw e;
        }
        this.bn = b;
    }

    /** The convolution's parameters (weight and bias) and settings. */
    public Conv2d conv() { return conv; }

    /** The batch norm's parameters (gamma and beta), running statistics and settings. */
    public BatchNorm batchNorm() { return bn; }

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN: batch statistics (and the running-statistics update); EVAL: running statistics
     * @return output, (N, F, OH, OW), owned by this unit
     * @throws IllegalArgumentException naming the shape when x is not (N, C, H, W) with this unit's
     *                                  C, or in TRAIN mode when each channel of the convolution's
     *                                  output has a single value (N * OH * OW = 1)
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4 || x.dim(1) != conv.inChannels()) {
            throw new IllegalArgumentException(this + " expects input (N, " + conv.inChannels() + ", H, W) but got "
                    + x.shapeString());
        }
        if (conv.weight().value().isClosed()) throw new IllegalStateException(this + " is closed");
        if (!plannedFor(x)) replan(x);
        plan.forward(x, conv.weight().value(), conv.bias().value(), bn.gamma().value(), bn.beta().value(), out,
                bn.runningMean(), bn.runningVar(), bn.momentum(), mode == Mode.TRAIN);
        this.x = mode == Mode.TRAIN ? x : null; // an EVAL forward overwrites what the plan kept for backward
        return out;
    }

    /**
     * Whether the current plan was made for input x (compared field by field: no allocation per
     * step) and for the backend's current settings.
     */
    private boolean plannedFor(Tensor x) {
        if (plan == null || plan.stale()) return false;
        ConvGeometry g = plan.geometry();
        return g.n() == x.dim(0) && g.h() == x.dim(2) && g.w() == x.dim(3);
    }

    /** Whether the current op must be planned again (for tests); false before the first forward. */
    boolean planStale() { return plan != null && plan.stale(); }

    private void replan(Tensor x) {
        closeBuffers();
        ConvGeometry g = ConvGeometry.of(x.shape(), conv.weight().value().shape(), conv.stride(), conv.pad());
        ConvBnReluOp p = ops.convBnRelu(g, bn.eps());
        try {
            out = Tensor.zeros(g.outputShape());
            dx = Tensor.zeros(g.inputShape());
        } catch (RuntimeException | Error e) {
            p.close();
            closeBuffers();
            throw e;
        }
        plan = p;
        conv.weight().preferOrder(p.weightOrder()); // W, dW and its state move into it at the optimizer's next step
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return gradient for the input, owned by this unit, or null when switched off by
     *         {@link #setInputGradient}; fills the gradients of the four parameters
     * @throws IllegalStateException without a TRAIN forward before it (an EVAL forward in between included)
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException(this + ".backward called without a TRAIN forward before it");
        plan.backward(x, conv.weight().value(), bn.gamma().value(), dout, inputGradient ? dx : null, conv.weight().grad(),
                conv.bias().grad(), bn.gamma().grad(), bn.beta().grad());
        return inputGradient ? dx : null;
    }

    /**
     * Whether backward computes the gradient for the input (default true); off for the first
     * unit of a network, which skips the backward-data convolution (see
     * {@link ConvolutionLayer#setInputGradient}).
     */
    public ConvBnRelu setInputGradient(boolean compute) {
        this.inputGradient = compute;
        return this;
    }

    /** The convolution's weight and bias, then the batch norm's gamma and beta. */
    @Override
    public List<Param> params() {
        return List.of(conv.weight(), conv.bias(), bn.gamma(), bn.beta());
    }

    /** The batch norm's running statistics. */
    @Override
    public Map<String, Tensor> buffers() { return bn.buffers(); }

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
        conv.close();
        bn.close();
    }

    @Override
    public String toString() {
        return "ConvBnRelu(" + prefix + ": " + conv.inChannels() + " -> " + conv.outChannels() + ", " + conv.kernelH() + "x"
                + conv.kernelW() + ", stride " + conv.stride() + ")";
    }
}
