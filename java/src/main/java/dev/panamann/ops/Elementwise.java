package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The elementwise loops of the library in one place, over float32 segments of {@code n}
 * contiguous values: activations (ReLU, sigmoid) and their gradients, {@code axpy}, sums and
 * the row argmax. Layers, losses, models and the pure-Java ops call these instead of keeping
 * their own copies, so a faster loop (e.g. a vectorized one) lands everywhere at once.
 *
 * <p>The signatures are deliberately plain (segments and counts, no tensors): callers check
 * shapes before they get here. Output segments may be the same as input segments where noted.
 *
 * <p>The loops of the affine and ReLU layers ({@link #relu}, {@link #reluBackward},
 * {@link #addToRows}, {@link #columnSums}) run on the Vector API when the JVM has
 * {@code jdk.incubator.vector} (the setting of {@link dev.panamann.ops.java.GemmKernel#fromSettings},
 * read once when this class is first used); the scalar loops here define them and stay the
 * fallback. Both give the same bits: the same float operation per element (a column sum adds
 * the rows in order, from 0, in float, in both).
 */
public final class Elementwise {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** The Vector API loops, or null for the scalar loops. */
    private static final ElementwiseLoops VECTOR = ElementwiseLoops.fromSettings();

    private Elementwise() {}

    /** "vector (N floats)" or "scalar": the loops {@link #relu} and the other layer loops run. */
    static String loopsName() {
        return VECTOR == null ? "scalar" : VECTOR.name();
    }

    // ------------------------------------------------------------------ activations

    /** {@code out[i] = max(x[i], 0)} for i in [0, n); out may be x. */
    public static void relu(MemorySegment x, MemorySegment out, int n) {
        if (VECTOR != null) VECTOR.relu(x, out, n);
        else scalarRelu(x, out, 0, n);
    }

    /** {@link #relu} over elements [from, to): NaN stays NaN, -0 becomes +0 (Math.max). */
    static void scalarRelu(MemorySegment x, MemorySegment out, int from, int to) {
        for (int i = from; i < to; i++) out.setAtIndex(F, i, Math.max(x.getAtIndex(F, i), 0f));
    }

    /**
     * {@code dx[i] = out[i] > 0 ? dout[i] : 0} for i in [0, n), from the forward's output
     * (which is > 0 exactly where the input was).
     */
    public static void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        if (VECTOR != null) VECTOR.reluBackward(out, dout, dx, n);
        else scalarReluBackward(out, dout, dx, 0, n);
    }

    /**
     * {@link #reluBackward} over elements [from, to): dout passes where the bits of out are not
     * all zero (so also where out is NaN or -0), 0 where out is +0.
     */
    static void scalarReluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int from, int to) {
        for (int i = from; i < to; i++) {
            // branch-free (the sign of a ReLU input is a coin flip for the branch predictor):
            // out >= +0, so its bits are 0 exactly when out is 0; mask is all ones otherwise
            int bits = Float.floatToRawIntBits(out.getAtIndex(F, i));
            int mask = (bits | -bits) >> 31;
            dx.setAtIndex(F, i, Float.intBitsToFloat(Float.floatToRawIntBits(dout.getAtIndex(F, i)) & mask));
        }
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
        for (int i = 0; i < n; i++) y.setAtIndex(F, i, y.getAtIndex(F, i) + alpha * x.getAtIndex(F, i));
    }

    /** {@code out[i] = a[i] + b[i]} for i in [0, n); out may be a or b (a residual connection's sum). */
    public static void add(MemorySegment a, MemorySegment b, MemorySegment out, int n) {
        for (int i = 0; i < n; i++) out.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
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
        if (VECTOR != null) VECTOR.addToRows(m, row, rows, cols);
        else scalarAddToRows(m, row, rows, cols, 0);
    }

    /** {@link #addToRows} for the columns [from, cols). */
    static void scalarAddToRows(MemorySegment m, MemorySegment row, int rows, int cols, int from) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            for (int j = from; j < cols; j++) m.setAtIndex(F, base + j, m.getAtIndex(F, base + j) + row.getAtIndex(F, j));
        }
    }

    /**
     * {@code dst[j] = sum over r of m[r, j]} for the (rows, cols) matrix m: a bias gradient.
     * Each sum starts from 0 and adds the rows in order, in float.
     */
    public static void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
        if (VECTOR != null) VECTOR.columnSums(m, rows, cols, dst);
        else scalarColumnSums(m, rows, cols, 0, dst);
    }

    /** {@link #columnSums} for the columns [from, cols). */
    static void scalarColumnSums(MemorySegment m, int rows, int cols, int from, MemorySegment dst) {
        for (int j = from; j < cols; j++) dst.setAtIndex(F, j, 0f); // not asSlice(..).fill: no slice object per call
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            for (int j = from; j < cols; j++) dst.setAtIndex(F, j, dst.getAtIndex(F, j) + m.getAtIndex(F, base + j));
        }
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
