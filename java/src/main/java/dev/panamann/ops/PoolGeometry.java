package dev.panamann.ops;

import dev.panamann.tensor.Tensor;
import java.util.Arrays;

/**
 * Shapes of one 2-D pooling: input (n, c, h, w), square window {@code kernel}, square
 * {@code stride}, no padding. Output (n, c, outH, outW) with {@code outH = (h - kernel) /
 * stride + 1}. Windows that do not fit the input are rejected here.
 */
public record PoolGeometry(int n, int c, int h, int w, int kernel, int stride) {
    public PoolGeometry {
        if (n < 1 || c < 1 || h < 1 || w < 1 || kernel < 1 || stride < 1) {
            throw new IllegalArgumentException("pooling sizes must be positive: input (" + n + ", " + c + ", " + h + ", " + w
                    + "), window " + kernel + ", stride " + stride);
        }
        if (kernel > h || kernel > w) {
            throw new IllegalArgumentException("pool window " + kernel + "x" + kernel + " does not fit the input "
                    + h + "x" + w);
        }
    }

    /**
     * The geometry of pooling an input of shape {@code inputShape}.
     *
     * @param inputShape (N, C, H, W)
     * @param kernel     window height and width
     * @param stride     step between windows
     * @throws IllegalArgumentException naming the shape when it is not 4-D or the window does not fit
     */
    public static PoolGeometry of(int[] inputShape, int kernel, int stride) {
        if (inputShape.length != 4) {
            throw new IllegalArgumentException("pooling needs input (N, C, H, W), got " + Arrays.toString(inputShape));
        }
        return new PoolGeometry(inputShape[0], inputShape[1], inputShape[2], inputShape[3], kernel, stride);
    }

    /** Pooling over the output of the convolution {@code conv}, (N, F, OH, OW). */
    public static PoolGeometry over(ConvGeometry conv, int kernel, int stride) {
        return of(conv.outputShape(), kernel, stride);
    }

    public int outH() { return (h - kernel) / stride + 1; }

    public int outW() { return (w - kernel) / stride + 1; }

    public int[] inputShape() { return new int[] {n, c, h, w}; }

    public int[] outputShape() { return new int[] {n, c, outH(), outW()}; }

    /** Checks the tensors of {@link Pool2dOp#forward} against this geometry (both shapes in the message). */
    public void checkForward(Tensor x, Tensor out) {
        x.requireShape("pool2d forward x", inputShape());
        out.requireShape("pool2d forward out", outputShape());
    }

    /** Checks the tensors of {@link Pool2dOp#backward} against this geometry. */
    public void checkBackward(Tensor x, Tensor dout, Tensor dx) {
        x.requireShape("pool2d backward x", inputShape());
        dout.requireShape("pool2d backward dout", outputShape());
        dx.requireShape("pool2d backward dx", inputShape());
    }
}
