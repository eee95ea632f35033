package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

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
    public void checkBackward(Tensor dout, Tensor dx) {
        dout.requireShape("pool2d backward dout", outputShape());
        dx.requireShape("pool2d backward dx", inputShape());
    }
}
