package dev.panamann.ops;

import dev.panamann.tensor.Tensor;
import java.util.Arrays;

/**
 * Shapes of one 2-D convolution: input (n, c, h, w), {@code f} filters of (c, kh, kw),
 * square {@code stride} and zero {@code pad} on every side. Output is (n, f, outH, outW) with
 * {@code outH = (h + 2 pad - kh) / stride + 1}. The constructor rejects geometries that do
 * not fit, before anything reaches a native library.
 *
 * <p>Prefer {@link #of(int[], int[], int, int)}, which takes the input and weight shapes and
 * cannot be mis-ordered silently: {@code ConvGeometry.of(x.shape(), w.shape(), 1, 3)}.
 */
public record ConvGeometry(int n, int c, int h, int w, int f, int kh, int kw, int stride, int pad) {
    public ConvGeometry {
        if (n < 1 || c < 1 || h < 1 || w < 1 || f < 1 || kh < 1 || kw < 1) {
            throw new IllegalArgumentException("convolution sizes must be positive: " + describe(n, c, h, w, f, kh, kw, stride, pad));
        }
        if (stride < 1 || pad < 0) {
            throw new IllegalArgumentException("convolution needs stride >= 1 and pad >= 0: " + describe(n, c, h, w, f, kh, kw, stride, pad));
        }
        if (kh > h + 2 * pad || kw > w + 2 * pad) {
            throw new IllegalArgumentException("kernel " + kh + "x" + kw + " is larger than the padded input "
                    + (h + 2 * pad) + "x" + (w + 2 * pad) + ": " + describe(n, c, h, w, f, kh, kw, stride, pad));
        }
    }

    /**
     * The geometry of a convolution of an input of shape {@code inputShape} (N, C, H, W) with
     * weights of shape {@code weightShape} (F, C, KH, KW).
     *
     * @param inputShape  (N, C, H, W)
     * @param weightShape (F, C, KH, KW); its C must be the input's
     * @param stride      step in both directions, 1 or more
     * @param pad         zero padding on every side, 0 or more
     * @throws IllegalArgumentException naming both shapes when they are not 4-D, the channel
     *                                  counts differ or the kernel does not fit the padded input
     */
    public static ConvGeometry of(int[] inputShape, int[] weightShape, int stride, int pad) {
        if (inputShape.length != 4 || weightShape.length != 4 || inputShape[1] != weightShape[1]) {
            throw new IllegalArgumentException("convolution needs input (N, C, H, W) and weights (F, C, KH, KW) with the same C, "
                    + "got input " + Arrays.toString(inputShape) + " and weights " + Arrays.toString(weightShape));
        }
        return new ConvGeometry(inputShape[0], inputShape[1], inputShape[2], inputShape[3],
                weightShape[0], weightShape[2], weightShape[3], stride, pad);
    }

    /** As {@link #of(int[], int[], int, int)} with the shapes of the tensors {@code x} and {@code w}. */
    public static ConvGeometry of(Tensor x, Tensor w, int stride, int pad) {
        return of(x.shape(), w.shape(), stride, pad);
    }

    public int outH() { return (h + 2 * pad - kh) / stride + 1; }

    public int outW() { return (w + 2 * pad - kw) / stride + 1; }

    public int[] inputShape() { return new int[] {n, c, h, w}; }

    public int[] weightShape() { return new int[] {f, c, kh, kw}; }

    public int[] outputShape() { return new int[] {n, f, outH(), outW()}; }

    /** Checks the tensors of {@link Conv2dOp#forward} against this geometry (both shapes in the message). */
    public void checkForward(Tensor x, Tensor w, Tensor b, Tensor out) {
        x.requireShape("conv2d forward x", inputShape());
        w.requireShape("conv2d forward w", weightShape());
        b.requireShape("conv2d forward b", f);
        out.requireShape("conv2d forward out", outputShape());
    }

    /** Checks the tensors of {@link Conv2dOp#backward} against this geometry; dx may be null. */
    public void checkBackward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        x.requireShape("conv2d backward x", inputShape());
        w.requireShape("conv2d backward w", weightShape());
        dout.requireShape("conv2d backward dout", outputShape());
        if (dx != null) dx.requireShape("conv2d backward dx", inputShape());
        dw.requireShape("conv2d backward dw", weightShape());
        db.requireShape("conv2d backward db", f);
    }

    private static String describe(int n, int c, int h, int w, int f, int kh, int kw, int stride, int pad) {
        return "input (" + n + ", " + c + ", " + h + ", " + w + "), " + f + " filters " + kh + "x" + kw
                + ", stride " + stride + ", pad " + pad;
    }
}
