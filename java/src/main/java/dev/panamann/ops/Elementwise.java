package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The elementwise loops of the library in one place, over float32 segments of {@code n}
 * contiguous values: activations (ReLU, sigmoid) and their gradients, {@code axpy}, sums and
 * the row argmax. Layers, losses, models and the pure-Java ops call these instead of keeping
 * their own copies, so a faster loop (e.g. a vectorized one) lands everywhere at once.
 *
 * <p>The loops the training step runs on every batch (ReLU, its gradient, bias rows, column sums,
 * sums of tensors) run on the Vector API when {@code jdk.incubator.vector} is present (the same
 * results to the bit, {@link ElementwiseLoops}); {@link #loopsName()} says which.
 *
 * <p>The signatures are deliberately plain (segments and counts, no tensors): callers check
 * shapes before they get here. Output segments may be the same as input segments where noted.
 */
public final class Elementwise {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** The loops the settings ask for, chosen once: Vector API loops with {@code jdk.incubator.vector}, plain loops otherwise. */
    private static final ElementwiseLoops LOOPS = ElementwiseLoops.fromSettings();

    private Elementwise() {}

    /** Which loops run: {@code scalar} or {@code vector (N floats)}. */
    public static String loopsName() { return LOOPS.name(); }

    // ------------------------------------------------------------------ activations

    /** {@code out[i] = max(x[i], 0)} for i in [0, n); out may be x. */
    public static void relu(MemorySegment x, MemorySegment out, int n) {
        LOOPS.relu(x, out, n);
    }

    /**
     * {@code dx[i] = out[i] > 0 ? dout[i] : 0} for i in [0, n), from the forward's output
     * (which is > 0 exactly where the input was).
     */
    public static void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        LOOPS.reluBackward(out, dout, dx, n);
    }

    /**
     * {@code out[i] = 1 / (1 + exp(-x[i]))} for i in [0, n), without overflow for large |x|;
     * out may be x.
     */
    public static void sigmoid(MemorySegment x, MemorySegment out, int n) {
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            // exp of a non-positive number only: no overflow for either sign
            float e = (float) Math.exp(-Math.abs(v));
            out.setAtIndex(F, i, v >= 0f ? 1f / (1f + e) : e / (1f + e));
        }
    }

    /** {@code dx[i] = dout[i] * out[i] * (1 - out[i])} for i in [0, n), from the sigmoid's output. */
    public static void sigmoidBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        for (int i = 0; i < n; i++) {
            float s = out.getAtIndex(F, i);
            dx.setAtIndex(F, i, dout.getAtIndex(F, i) * s * (1f - s));
        }
    }

    // ------------------------------------------------------------------ vector arithmetic

    /** {@code y[i] += alpha * x[i]} for i in [0, n) (BLAS axpy). */
    public static void axpy(float alpha, MemorySegment x, MemorySegment y, int n) {
        LOOPS.axpy(alpha, x, y, n);
    }

    /**
     * {@code out[i] = a * x[i] + b * y[i]} for i in [from, to) (indices into all three); out may be
     * x or y (data-parallel replicas' gradients, summed in shares without slicing).
     */
    public static void weightedSum(float a, MemorySegment x, float b, MemorySegment y, MemorySegment out, long from, long to) {
        LOOPS.weightedSum(a, x, b, y, out, from, to);
    }

    /** {@code out[i] = a[i] + b[i]} for i in [0, n); out may be a or b (a residual connection's sum). */
    public static void add(MemorySegment a, MemorySegment b, MemorySegment out, int n) {
        LOOPS.add(a, b, out, n);
    }

    /** {@code sum(x[i]^2)} over i in [0, n), accumulated in double. */
    public static double sumOfSquares(MemorySegment x, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            s += v * v;
        }
        return s;
    }

    /** {@code m[r, j] += row[j]} for every row r of the (rows, cols) matrix m: a bias added to each row. */
    public static void addToRows(MemorySegment m, MemorySegment row, int rows, int cols) {
        LOOPS.addToRows(m, row, rows, cols);
    }

    /** {@code dst[j] = sum over r of m[r, j]} for the (rows, cols) matrix m: a bias gradient. */
    public static void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
        LOOPS.columnSums(m, rows, cols, dst);
    }

    /**
     * The index of the largest value of each of the first {@code rows} rows of the (rows, cols)
     * matrix m, into {@code dst[offset ..]}: the first one on ties; a NaN is never the largest
     * unless it is in column 0.
     */
    public static void argmaxRows(MemorySegment m, int rows, int cols, int[] dst, int offset) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            int arg = 0;
            float max = m.getAtIndex(F, base);
            for (int j = 1; j < cols; j++) {
                float v = m.getAtIndex(F, base + j);
                if (v > max) {
                    max = v;
                    arg = j;
                }
            }
            dst[offset + r] = arg;
        }
    }
}
