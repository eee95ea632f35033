package dev.panamann.layers;

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
 * <p>Each of the three runs as its own op (on the native backend: a oneDNN convolution, a oneDNN
 * batch normalization, the library's ReLU loop), with the activations in plain NCHW between
 * them. Not done yet: oneDNN's batch norm with the ReLU fused ({@code dnnl_fuse_norm_relu}, now
 * in the bindings) and the activations kept in oneDNN's blocked layout through the unit.
 * EVAL normalizes with the running statistics.
 */
public final class ConvBnRelu implements Layer {
    private final Conv2d conv;
    private final BatchNorm bn;
    private final ReLU relu = new ReLU();
    private final String prefix;

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

    /** The convolution. */
    public Conv2d conv() { return conv; }

    /** The batch norm. */
    public BatchNorm batchNorm() { return bn; }

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN: batch statistics (and the running-statistics update); EVAL: running statistics
     * @return output, (N, F, OH, OW), owned by this unit
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        return relu.forward(bn.forward(conv.forward(x, mode), mode), mode);
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return gradient for the input, or null when the convolution's input gradient is switched off
     */
    @Override
    public Tensor backward(Tensor dout) {
        return conv.backward(bn.backward(relu.backward(dout)));
    }

    /** Whether backward computes the gradient for the input (see {@link ConvolutionLayer#setInputGradient}). */
    public ConvBnRelu setInputGradient(boolean compute) {
        conv.setInputGradient(compute);
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

    @Override
    public void close() {
        conv.close();
        bn.close();
        relu.close();
    }

    @Override
    public String toString() {
        return "ConvBnRelu(" + prefix + ": " + conv.inChannels() + " -> " + conv.outChannels() + ", " + conv.kernelH() + "x"
                + conv.kernelW() + ", stride " + conv.stride() + ")";
    }
}
