package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.ConvBnRelu;
import dev.panamann.layers.GlobalAvgPool2d;
import dev.panamann.layers.MaxPool2d;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import java.util.Arrays;

/**
 * A VGG-style net (K. Simonyan and A. Zisserman, 2014) for small images with a width parameter
 * {@code w}: four stages of two conv-bn-relu units each, max pooling between the stages, no
 * skip connections:
 * <pre>
 * stage1  conv-bn-relu(w)  - conv-bn-relu(w)  - maxpool 2
 * stage2  conv-bn-relu(2w) - conv-bn-relu(2w) - maxpool 2
 * stage3  conv-bn-relu(4w) - conv-bn-relu(4w) - maxpool 2
 * stage4  conv-bn-relu(8w) - conv-bn-relu(8w)
 * head    global average pool - affine(numClasses)
 * </pre>
 * Every convolution is 3x3, stride 1, pad 1, He-initialized. Parameters and buffers have
 * PyTorch-style names under the model's {@code layers.<i>.} prefix
 * ({@code layers.0.stage1.0.conv.weight}, {@code layers.10.stage4.1.bn.running_var},
 * {@code layers.12.weight}); L2 regularization covers the convolution and affine weights. Input
 * (C, H, W) with H = W a multiple of 8. Against {@link ResNet9} of the same width it spends
 * more of its work at full resolution and less at the coarse ones: about 27 MFLOP per 32x32
 * image at w = 16 (ResNet9: 47).
 */
public final class VggSmall extends SequentialModel {
    /** Convolution units per stage. */
    public static final int UNITS_PER_STAGE = 2;
    /** Stages; each doubles the channels of the one before, the first has w. */
    public static final int STAGES = 4;

    private final int[] inputDim;
    private final int width;

    /**
     * @param ops        backend
     * @param inputDim   (C, H, W) of one example, H = W, a multiple of 8
     * @param width      w, channels of the first stage (the others have 2w, 4w, 8w)
     * @param numClasses classes scored
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public VggSmall(Ops ops, int[] inputDim, int width, int numClasses, float reg, long seed) {
        super(numClasses, reg);
        if (inputDim.length != 3 || inputDim[1] != inputDim[2] || inputDim[1] % 8 != 0 || inputDim[1] < 8 || inputDim[0] < 1) {
            closeQuietly();
            throw new IllegalArgumentException("VggSmall: inputDim must be (C, H, W) with H = W a multiple of 8, got "
                    + Arrays.toString(inputDim));
        }
        if (width < 1) {
            closeQuietly();
            throw new IllegalArgumentException("VggSmall: width must be >= 1, got " + width);
        }
        this.inputDim = inputDim.clone();
        this.width = width;
        Rng rng = new Rng(seed);
        try {
            int in = inputDim[0];
            for (int s = 1; s <= STAGES; s++) {
                int out = width << (s - 1);
                for (int u = 0; u < UNITS_PER_STAGE; u++) {
                    ConvBnRelu unit = add(new ConvBnRelu(ops, in, out, 3, 1, rng, "stage" + s + "." + u), "");
                    if (s == 1 && u == 0) unit.setInputGradient(false);
                    in = out;
                }
                if (s < STAGES) add(new MaxPool2d(ops, 2, 2), "");
            }
            add(new GlobalAvgPool2d(ops), "");
            add(new Affine(ops, in, numClasses, rng, (float) Math.sqrt(1.0 / in), "fc.weight", "fc.bias"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** (C, H, W) of one example. */
    public int[] inputDim() { return inputDim.clone(); }

    /** The base width w. */
    public int width() { return width; }

    /**
     * Multiply-adds times two of one forward pass over one example of shape (C, S, S): the
     * convolutions and the affine layer (batch norm, ReLU and pooling are a few percent more).
     */
    public static long forwardFlops(int[] inputDim, int width, int numClasses) {
        long in = inputDim[0], s = inputDim[1], macs = 0;
        for (int stage = 0; stage < STAGES; stage++) {
            long out = (long) width << stage;
            for (int u = 0; u < UNITS_PER_STAGE; u++) {
                macs += in * out * 9 * s * s;
                in = out;
            }
            if (stage < STAGES - 1) s /= 2;
        }
        macs += in * numClasses;
        return 2 * macs;
    }

    /** Parameters of the model (weights, biases, batch-norm scales and shifts), without the running statistics. */
    public static long paramCount(int channels, int width, int numClasses) {
        long in = channels, n = 0;
        for (int stage = 0; stage < STAGES; stage++) {
            long out = (long) width << stage;
            for (int u = 0; u < UNITS_PER_STAGE; u++) {
                n += in * out * 9 + 3 * out;
                in = out;
            }
        }
        return n + in * numClasses + numClasses;
    }

    @Override
    public String toString() {
        return "VggSmall(input " + Arrays.toString(inputDim) + ", width " + width + ", classes " + numClasses() + ", reg " + reg() + ")";
    }
}
