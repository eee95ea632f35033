package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.ConvBnRelu;
import dev.panamann.layers.GlobalAvgPool2d;
import dev.panamann.layers.MaxPool2d;
import dev.panamann.layers.ResidualBlock;
import dev.panamann.layers.Sequential;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import java.util.Arrays;

/**
 * The ResNet-9 of the fast CIFAR-10 training recipes (D. Page, "How to train your ResNet",
 * 2018) with a width parameter {@code w} (64 in the original):
 * <pre>
 * prep    conv-bn-relu(w)
 * layer1  conv-bn-relu(2w) - maxpool 2 - residual[conv-bn-relu(2w), conv-bn-relu(2w)]
 * layer2  conv-bn-relu(4w) - maxpool 2
 * layer3  conv-bn-relu(8w) - maxpool 2 - residual[conv-bn-relu(8w), conv-bn-relu(8w)]
 * head    global average pool - affine(numClasses)
 * </pre>
 * Every convolution is 3x3, stride 1, pad 1, He-initialized; the residual blocks have identity
 * shortcuts. Parameters and buffers have PyTorch-style names under the model's
 * {@code layers.<i>.} prefix ({@code layers.3.layer1.res.0.conv.weight},
 * {@code layers.8.layer3.res.1.bn.running_var}, {@code layers.10.weight}); L2 regularization covers the
 * convolution and affine weights. Input (C, H, W) with H = W a multiple of 8. The forward cost
 * grows with w^2: about 47 MFLOP per 32x32 image at w = 16, 188 at w = 32.
 */
public final class ResNet9 extends SequentialModel {
    private final int[] inputDim;
    private final int width;

    /**
     * @param ops        backend
     * @param inputDim   (C, H, W) of one example, H = W, a multiple of 8
     * @param width      w, channels of the first convolution (the others have 2w, 4w, 8w)
     * @param numClasses classes scored
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public ResNet9(Ops ops, int[] inputDim, int width, int numClasses, float reg, long seed) {
        super(numClasses, reg);
        if (inputDim.length != 3 || inputDim[1] != inputDim[2] || inputDim[1] % 8 != 0 || inputDim[1] < 8 || inputDim[0] < 1) {
            closeQuietly();
            throw new IllegalArgumentException("ResNet9: inputDim must be (C, H, W) with H = W a multiple of 8, got "
                    + Arrays.toString(inputDim));
        }
        if (width < 1) {
            closeQuietly();
            throw new IllegalArgumentException("ResNet9: width must be >= 1, got " + width);
        }
        this.inputDim = inputDim.clone();
        this.width = width;
        Rng rng = new Rng(seed);
        int w = width;
        try {
            add(new ConvBnRelu(ops, inputDim[0], w, 3, 1, rng, "prep"), "").setInputGradient(false);
            add(new ConvBnRelu(ops, w, 2 * w, 3, 1, rng, "layer1"), "");
            add(new MaxPool2d(ops, 2, 2), "");
            add(residual(ops, 2 * w, rng, "layer1.res"), "");
            add(new ConvBnRelu(ops, 2 * w, 4 * w, 3, 1, rng, "layer2"), "");
            add(new MaxPool2d(ops, 2, 2), "");
            add(new ConvBnRelu(ops, 4 * w, 8 * w, 3, 1, rng, "layer3"), "");
            add(new MaxPool2d(ops, 2, 2), "");
            add(residual(ops, 8 * w, rng, "layer3.res"), "");
            add(new GlobalAvgPool2d(ops), "");
            add(new Affine(ops, 8 * w, numClasses, rng, (float) Math.sqrt(1.0 / (8 * w)), "fc.weight", "fc.bias"), "");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Two conv-bn-relu units of {@code c} channels with an identity shortcut. */
    private static ResidualBlock residual(Ops ops, int c, Rng rng, String prefix) {
        ConvBnRelu first = new ConvBnRelu(ops, c, c, 3, 1, rng, prefix + ".0");
        try {
            return new ResidualBlock(new Sequential(first, new ConvBnRelu(ops, c, c, 3, 1, rng, prefix + ".1")));
        } catch (RuntimeException e) {
            first.close();
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
        long c = inputDim[0], s = inputDim[1], w = width, macs = 0;
        macs += c * w * 9 * s * s;                 // prep
        macs += w * 2 * w * 9 * s * s;             // layer1 conv
        macs += 2 * (2 * w * 2 * w * 9 * (s / 2) * (s / 2)); // layer1 residual
        macs += 2 * w * 4 * w * 9 * (s / 2) * (s / 2);       // layer2
        macs += 4 * w * 8 * w * 9 * (s / 4) * (s / 4);       // layer3
        macs += 2 * (8 * w * 8 * w * 9 * (s / 8) * (s / 8)); // layer3 residual
        macs += 8 * w * numClasses;
        return 2 * macs;
    }

    @Override
    public String toString() {
        return "ResNet9(input " + Arrays.toString(inputDim) + ", width " + width + ", classes " + numClasses() + ", reg " + reg() + ")";
    }
}
