package dev.panamann.layers;

import dev.panamann.tensor.Param;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * What {@link Conv2d}, {@link ConvRelu} and {@link ConvReluPool} share: F filters W (F, C, KH, KW), covered by
 * L2 regularization, and a bias b (F), not regularized, either given or drawn (W from
 * N(0, weightScale^2), b zeros); stride and zero padding on every side; an op planned for the
 * first input shape and planned again only when the shape changes, with output and
 * input-gradient buffers reused likewise; and the switch that lets a first layer skip its
 * input gradient.
 */
public abstract sealed class ConvolutionLayer implements Layer permits Conv2d, ConvRelu, ConvReluPool {
    private final String name;
    final Ops ops;
    final int inC, outC, kernelH, kernelW, stride, pad;
    private final int[] weightShape;
    private final Param weight, bias;
    private Tensor out, dx, x;
    private boolean inputGradient = true;

    /** Draws W (F, C, KH, KW) = {@code weightShape} from N(0, weightScale^2); b zeros. */
    ConvolutionLayer(String name, Ops ops, int[] weightShape, int stride, int pad, Rng rng, float weightScale,
                     String weightName, String biasName) {
        this(name, ops, newWeights(name, weightShape, stride, pad, rng, weightScale), stride, pad, weightName, biasName);
    }

    /** Takes the given w (F, C, KH, KW) and b (F), owned from now on. */
    ConvolutionLayer(String name, Ops ops, Tensor w, Tensor b, int stride, int pad, String weightName, String biasName) {
        this(name, ops, checkGiven(name, w, b, stride, pad), stride, pad, weightName, biasName);
    }

    private ConvolutionLayer(String name, Ops ops, Tensor[] wb, int stride, int pad, String weightName, String biasName) {
        this.name = name;
        this.ops = ops;
        this.weightShape = wb[0].shape();
        this.outC = weightShape[0];
        this.inC = weightShape[1];
        this.kernelH = weightShape[2];
        this.kernelW = weightShape[3];
        this.stride = stride;
        this.pad = pad;
        this.weight = new Param(weightName, wb[0], true);
        this.bias = new Param(biasName, wb[1], false);
    }

    private static void checkSettings(String name, int[] weightShape, int stride, int pad) {
        if (weightShape.length != 4 || Arrays.stream(weightShape).anyMatch(d -> d < 1) || stride < 1 || pad < 0) {
            throw new IllegalArgumentException(name + " needs weights (F, C, KH, KW) with every size >= 1, stride >= 1 and "
                    + "pad >= 0, got weights " + Arrays.toString(weightShape) + ", stride " + stride + ", pad " + pad);
        }
    }

    private static Tensor[] newWeights(String name, int[] weightShape, int stride, int pad, Rng rng, float weightScale) {
        checkSettings(name, weightShape, stride, pad);
        return new Tensor[] {Tensor.randn(rng, weightScale, weightShape), Tensor.zeros(weightShape[0])};
    }

    private static Tensor[] checkGiven(String name, Tensor w, Tensor b, int stride, int pad) {
        w.checkOpen();
        b.checkOpen();
        checkSettings(name, w.shape(), stride, pad);
        if (!b.hasShape(w.dim(0))) {
            throw new IllegalArgumentException(name + ": b must have shape [" + w.dim(0) + "] to match W of shape "
                    + w.shapeString() + " but has shape " + b.shapeString());
        }
        return new Tensor[] {w, b};
    }

    /** The convolution geometry the current op was planned for, or null before the first forward. */
    abstract ConvGeometry plannedFor();

    /** Whether the current op must be planned again ({@code stale()} of the ops: the backend's threads changed). */
    abstract boolean planStale();

    /** Plans the op for {@code g} (the previous one is closed already) and returns the output shape. */
    abstract int[] newPlan(ConvGeometry g);

    abstract void runForward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training);

    abstract void runBackward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db);

    /** The current op's {@code weightOrder()}. */
    abstract StorageOrder weightOrder();

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
        if (!plannedFor(x)) {
            ConvGeometry g = ConvGeometry.of(x.shape(), weightShape, stride, pad);
            closeBuffers();
            out = Tensor.zeros(newPlan(g));
            dx = Tensor.zeros(g.inputShape());
            // the optimizer's next step moves W, dW and its state into the order the op reads and writes directly
            weight.preferOrder(weightOrder());
        }
        runForward(x, weight.value(), bias.value(), out, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * Whether the current op was planned for input x, (N, C, H, W) (compared field by field: no
     * allocation per step), and for the backend's current settings.
     */
    private boolean plannedFor(Tensor x) {
        ConvGeometry g = plannedFor();
        return g != null && !planStale() && g.n() == x.dim(0) && g.c() == x.dim(1) && g.h() == x.dim(2) && g.w() == x.dim(3)
                && g.f() == weightShape[0] && g.kh() == weightShape[2] && g.kw() == weightShape[3] && g.stride() == stride
                && g.pad() == pad;
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

    /** Input channels C. */
    public int inChannels() { return inC; }

    /** Number of filters F. */
    public int outChannels() { return outC; }

    /** Filter height KH. */
    public int kernelH() { return kernelH; }

    /** Filter width KW. */
    public int kernelW() { return kernelW; }

    /** Convolution stride. */
    public int stride() { return stride; }

    /** Zero padding on every side. */
    public int pad() { return pad; }

    /** The weight parameter, (F, C, KH, KW). */
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
